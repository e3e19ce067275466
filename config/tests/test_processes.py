"""A Redis (or worker) we start is stopped when we are killed outright, not left running."""

import signal
import subprocess
import sys
import textwrap

import psutil

PARENT = textwrap.dedent("""
    import time
    from config.embedded_redis import EmbeddedRedis
    server = EmbeddedRedis().start()
    print(server.process.pid, flush=True)
    time.sleep(120)
""")


def test_an_embedded_redis_dies_with_the_process_that_started_it():
    # given a process that started an embedded Redis
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    redis_server = psutil.Process(int(parent.stdout.readline()))
    assert redis_server.is_running()

    # when that process is killed with no chance to clean up
    parent.send_signal(signal.SIGKILL)
    parent.wait()

    # then its Redis goes too
    gone, _alive = psutil.wait_procs([redis_server], timeout=10)
    assert gone == [redis_server]
