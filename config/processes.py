"""Child processes that never outlive the process that started them."""

import ctypes
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """`preexec_fn` for Popen: on Linux the child gets SIGTERM when its parent dies, even by SIGKILL.

    Ctrl-C and normal exits stop children explicitly; this covers the parent being killed outright,
    which would otherwise leave a Redis, a worker or a web server running with nobody to stop it.
    Elsewhere it does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
