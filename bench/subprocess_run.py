"""bench/subprocess_run.py: Python's subprocess.run as a benchmark contender.

The bench starts this script once per round; the interpreter's own start is
not timed, only the subprocess.run calls.  Prints "seconds count" on stdout:
count is the bytes received, or the spawns done.

  subprocess_run.py capture WRITER OUT_BYTES ERR_BYTES
  subprocess_run.py cat BYTES
  subprocess_run.py spawn COUNT BUDGET_SECONDS HEAP_MB
  subprocess_run.py spawn-pipes COUNT BUDGET_SECONDS HEAP_MB
      (stdin and stdout piped, as Popen3v pipes them)
"""
import subprocess
import sys
import time


def main(argv):
    mode = argv[1]
    if mode == "capture":
        writer, out_bytes, err_bytes = argv[2], argv[3], argv[4]
        cmd = [writer, out_bytes] + ([err_bytes] if int(err_bytes) else [])
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, check=True)
        dt = time.perf_counter() - t0
        print(dt, len(r.stdout) + len(r.stderr))
    elif mode == "cat":
        n = int(argv[2])
        data = bytes(range(1, 256)) * (n // 255) + b"x" * (n % 255)
        t0 = time.perf_counter()
        r = subprocess.run(["cat"], input=data, capture_output=True, check=True)
        dt = time.perf_counter() - t0
        print(dt, len(r.stdout))
    elif mode in ("spawn", "spawn-pipes"):
        count, budget, heap_mb = int(argv[2]), float(argv[3]), int(argv[4])
        heap = bytearray(heap_mb << 20)
        # bytearray's zeroed pages are not resident until written.
        for i in range(0, len(heap), 4096):
            heap[i] = 1
        pipe = subprocess.PIPE if mode == "spawn-pipes" else None
        done = 0
        t0 = time.perf_counter()
        while done < count and (done == 0 or time.perf_counter() - t0 < budget):
            subprocess.run(["/bin/true"], stdin=pipe, stdout=pipe, check=True)
            done += 1
        dt = time.perf_counter() - t0
        print(dt, done)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
