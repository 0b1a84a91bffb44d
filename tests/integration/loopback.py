"""What the small servers of the test tree share: started and stopped as a
context manager, reached at 127.0.0.1:self.port."""


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
