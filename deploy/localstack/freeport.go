package localstack

import (
	"fmt"
	"net"
	"sync"
)

// handedOut remembers every port FreePort returned in this process, so that
// two servers started back to back by the same test binary never get the same
// number even if the kernel would hand it out twice.
var (
	handedOutMu sync.Mutex
	handedOut   = map[int]bool{}
)

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on right now.
//
// Tests start their own Postgres and Temporal next to a developer's running
// `make run` stack, so every port must be picked at run time rather than
// defaulting to 5432/7233. There is an unavoidable window between picking the
// port and the server binding it; to make it small we leave the port in
// TIME_WAIT (connect to it, then close the accepted side first), which stops
// the kernel from giving the same number to another bind(":0") for about a
// minute while still letting our server bind it explicitly (Postgres and
// Temporal both set SO_REUSEADDR). Callers that pick a port automatically also
// retry once the server reports the address is taken.
func FreePort() (int, error) {
	for range 20 {
		port, err := freePortOnce()
		if err != nil {
			return 0, err
		}
		handedOutMu.Lock()
		dup := handedOut[port]
		handedOut[port] = true
		handedOutMu.Unlock()
		if !dup {
			return port, nil
		}
	}
	return 0, fmt.Errorf("localstack: could not find an unused TCP port on 127.0.0.1")
}

func freePortOnce() (int, error) {
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, fmt.Errorf("localstack: picking a free port: %w", err)
	}
	defer l.Close()
	addr := l.Addr().(*net.TCPAddr)

	// Put the port into TIME_WAIT: the server side closes first.
	c, err := net.DialTCP("tcp", nil, addr)
	if err != nil {
		return 0, fmt.Errorf("localstack: picking a free port: %w", err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		return 0, fmt.Errorf("localstack: picking a free port: %w", err)
	}
	s.Close()
	return addr.Port, nil
}
