# bench/chart.gp: draws the tables of `make bench` as one PNG.
#   gnuplot -e "out='bench/out'" bench/chart.gp > chart.png
# Each panel is one table: a bar per contender, its median as a ratio to the
# table's baseline (the dashed line at 1); the dotted line is the target.
# Reads <out>/w*.dat, written by bench/harness.c ("label" ratio per line).

if (!exists("out")) out = "bench/out"

set terminal pngcairo size 1500,1900 font "sans,9" noenhanced
set output
set multiplot layout 4,2 title "libpopen2 benchmark: each contender's median as a ratio to the baseline (dashed line)" font "sans,12"

set style fill solid 0.7 border -1
set grid xtics
set yrange [*:*] reverse
set ytics nomirror
set xtics nomirror
set key off
set offsets 0, graph 0.12, 0.5, 0.5
set lmargin 44

# panel(file, title, xlabel, target): horizontal bars from 0 to the ratio.
# Bars of libpopen2 rows are drawn in a second colour.
is_p2(s) = strstrt(s, "libpopen2") > 0 ? 1 : 0
bar(f, t, xl, tgt) = sprintf("set title '%s'; set xlabel '%s'; set arrow 1 from 1, graph 0 to 1, graph 1 nohead dt 2 lw 1.5; set arrow 2 from %g, graph 0 to %g, graph 1 nohead dt 3 lw 2 lc rgb 'red'", t, xl, tgt, tgt)

do for [panel in "w1 w1p w2 w3 w4 w4big w5 w6"] {
    f = out . "/" . panel . ".dat"
    if (panel eq "w1")    { eval bar(f, "1. Capture 1 GiB from stdout (target >= 0.90x)", "throughput ratio, higher is better", 0.90) }
    if (panel eq "w1p")   { eval bar(f, "1p. Same, every process pinned to one CPU", "throughput ratio, higher is better", 0.90) }
    if (panel eq "w2")    { eval bar(f, "2. 1 GiB stdout + 1 GiB stderr, stdout read first (target >= 1.0x)", "throughput ratio, higher is better", 1.0) }
    if (panel eq "w3")    { eval bar(f, "3. Round trip: 1 GiB through cat (target >= 0.90x)", "throughput ratio, higher is better", 0.90) }
    if (panel eq "w4")    { eval bar(f, "4. Spawn /bin/true, small parent (target <= 1.25x)", "time per spawn ratio, lower is better", 1.25) }
    if (panel eq "w4big") { eval bar(f, "4big. Spawn /bin/true, parent with 2 GiB of heap (target <= 1.25x)", "time per spawn ratio, lower is better (log scale)", 1.25) }
    if (panel eq "w5")    { eval bar(f, "5. 1000 children at once, 1 MiB each, bytes checked (no throughput target)", "throughput ratio, higher is better", 1.0); unset arrow 2 }
    if (panel eq "w6")    { set title "6. Streaming 4 GiB: peak RSS (target <= 16 MiB)"; set xlabel "peak RSS, MiB (median)"; unset arrow 1; set arrow 2 from 16, graph 0 to 16, graph 1 nohead dt 3 lw 2 lc rgb 'red' }
    # Fork from a big parent is ~100x slower: that panel needs a log scale.
    if (panel eq "w4big") { set logscale x; x0 = 0.1; set xrange [0.1:*] } else { unset logscale x; x0 = 0; set xrange [0:*] }
    if (panel eq "w6") { set xrange [0:20] }
    plot f using ($2):0:(x0):($2):($0-0.35):($0+0.35):(is_p2(strcol(1)) ? 0x2060c0 : 0x999999):ytic(1) \
         with boxxyerror lc rgb variable, \
         f using ($2):0:(sprintf(panel eq "w6" ? " %.1f" : " %.2fx", $2)) with labels left offset 0.3,0 font "sans,8"
}
unset multiplot
