package mesos_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
)

// Subscribe to a master, print the offers with their attributes and
// resources, and decline them. The master here is Offerdeck's stand-in,
// started on a loopback port; point Masters at a real one the same way.
func Example() {
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	master, url := startStandIn(ctx)
	defer master()

	client, err := mesos.NewClient(mesos.Config{
		Masters:   []string{url},
		Framework: &mesos.FrameworkInfo{User: proto.String("me"), Name: proto.String("example")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var lines []string
	client.Run(ctx, func(ctx context.Context, e *mesos.Event) {
		if e.GetType() != mesos.Event_OFFERS {
			return
		}
		var ids []*mesos.OfferID
		for _, o := range e.GetOffers().GetOffers() {
			var attrs []string
			for _, a := range o.GetAttributes() {
				attrs = append(attrs, mesos.AttributeString(a))
			}
			rs := o.GetResources()
			lines = append(lines, fmt.Sprintf("%s %s cpus=%g mem=%g ports=%v",
				o.GetHostname(), strings.Join(attrs, ";"), mesos.ScalarSum(rs, "cpus"), mesos.ScalarSum(rs, "mem"), mesos.Ranges(rs, "ports")))
			ids = append(ids, o.GetId())
		}
		err := client.Call(ctx, &mesos.Call{Type: mesos.Call_DECLINE.Enum(), Decline: &mesos.Call_Decline{
			OfferIds: ids, Filters: &mesos.Filters{RefuseSeconds: proto.Float64(60)},
		}})
		if err != nil {
			fmt.Println("decline:", err)
		}
		stop() // one round is enough for the example
	})
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// agent-1.demo rack:r2d2;pod:demo,dev cpus=2 mem=496 ports=[[9000 10000]]
	// agent-2.demo rack:c3po;pod:demo cpus=2 mem=496 ports=[[9000 10000]]
	// agent-3.demo rack:bb8;pod:dev;gen:3 cpus=4 mem=992 ports=[[9000 10000]]
}

// startStandIn runs the stand-in master until the returned stop is called.
func startStandIn(ctx context.Context) (stop func(), url string) {
	dir, err := os.MkdirTemp("", "offerdeck-example-")
	if err != nil {
		panic(err)
	}
	m, err := local.New(local.Config{SandboxRoot: dir, AllocationInterval: 50 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx, ln)
	}()
	return func() { cancel(); <-done; os.RemoveAll(dir) }, "http://" + ln.Addr().String()
}
