"""What the small servers of the test tree share: started and stopped as a
context manager, reached at 127.0.0.1:self.port, and their socket chores."""

import socket
import threading


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


class SilentServer(LoopbackService):
    """Accepts every connection, reads what comes and never answers (a
    registry hung behind a load balancer); stop() closes them all."""

    def __init__(self):
        self.sock = None
        self.port = None
        self._conns = []
        self._lock = threading.Lock()
        self._thread = None

    def start(self):
        self.sock = listen_on_loopback(64)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="silent", daemon=True)
        self._thread.start()
        return self

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return  # closed by stop()
            with self._lock:
                self._conns.append(c)
            threading.Thread(target=self._drain, args=(c,), daemon=True).start()

    @staticmethod
    def _drain(c):
        try:
            while c.recv(65536):
                pass
        except OSError:
            pass

    def stop(self):
        if self.sock is not None:
            shut(self.sock)
            self.sock = None
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            shut(c)
        if self._thread is not None:
            self._thread.join(timeout=5)
