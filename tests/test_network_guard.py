import socket

import pytest
import requests


def test_outbound_request_to_the_network_fails_the_test():
    with pytest.raises(requests.exceptions.ConnectionError, match="only loopback"):
        requests.get("http://203.0.113.7:80/", timeout=1)


def test_loopback_is_allowed():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        c = socket.create_connection(srv.getsockname(), timeout=1)
        c.close()
    finally:
        srv.close()
