package cluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// Membership ports must be below 32768: the SQL schema stores them in the
// cluster_membership table as a smallint, and a service whose port does not
// fit cannot join the cluster ("value out of range for type smallint").
// The kernel's ephemeral ports (localstack.FreePort) lie above that, so
// these are picked at random from a range below it and checked by binding.
const (
	lowPortMin = 20000
	lowPortMax = 32000
)

var (
	lowPortsMu sync.Mutex
	lowPorts   = map[int]bool{} // handed out by this process
)

// freeLowPort returns a port below 32768 that nothing listens on now.
func freeLowPort() (int, error) {
	lowPortsMu.Lock()
	defer lowPortsMu.Unlock()
	for range 100 {
		port := lowPortMin + rand.IntN(lowPortMax-lowPortMin)
		if lowPorts[port] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		_ = l.Close()
		lowPorts[port] = true
		return port, nil
	}
	return 0, fmt.Errorf("cluster: no free TCP port between %d and %d on 127.0.0.1", lowPortMin, lowPortMax)
}
