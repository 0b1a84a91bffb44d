"""What the small servers of the test tree share: started and stopped as a
context manager, reached at 127.0.0.1:self.port, and their socket chores."""

import socket


def listen_on_loopback(backlog):
    """A TCP socket listening on 127.0.0.1 at a port of the kernel's choice."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(backlog)
    return s


def shut(sock, how=socket.SHUT_RDWR, close=True):
    """shutdown() (how=None: none) then close(), a peer may have gone first."""
    if how is not None:
        try:
            sock.shutdown(how)
        except OSError:
            pass
    if close:
        try:
            sock.close()
        except OSError:
            pass


class Managed:
    """`with X(...) as x:` starts x (start() returns it) and stops it."""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class LoopbackService(Managed):
    """A server listening on 127.0.0.1:self.port."""

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    def ref(self, name):
        return "%s/%s" % (self.host, name)
