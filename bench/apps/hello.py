"""The minimal WSGI app of nave's benchmark (PEP 3333)."""


def app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', '13')])
    return [b'Hello, World!']
