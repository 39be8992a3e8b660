package localtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// Framework runs another framework on the cluster, driven by mesos.Client:
// it launches the named command tasks (sleep 600, 0.1 cpus and 32 MB each) on its first offer and acknowledges their updates, until the test ends.
func Framework(t testing.TB, base, name string, tasks ...string) {
	t.Helper()
	c, err := mesos.NewClient(mesos.Config{
		Masters:    []string{base},
		Framework:  &mesos.FrameworkInfo{User: proto.String("root"), Name: proto.String(name)},
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var calls sync.WaitGroup // the calls the handler makes, which must not block it
	go func() {
		defer close(done)
		c.Run(ctx, func(ctx context.Context, e *mesos.Event) {
			switch e.GetType() {
			case mesos.Event_OFFERS:
				o := e.GetOffers().GetOffers()[0]
				var infos []*mesos.TaskInfo
				for _, id := range tasks {
					infos = append(infos, &mesos.TaskInfo{
						Name: proto.String(id), TaskId: &mesos.TaskID{Value: proto.String(id)}, AgentId: o.GetAgentId(),
						Resources: []*mesos.Resource{mesos.Scalar("cpus", 0.1), mesos.Scalar("mem", 32)},
						Command:   &mesos.CommandInfo{Value: proto.String("sleep 600")},
					})
				}
				tasks = nil
				calls.Go(func() {
					c.Call(ctx, &mesos.Call{Type: mesos.Call_ACCEPT.Enum(), Accept: &mesos.Call_Accept{
						OfferIds:   []*mesos.OfferID{o.GetId()},
						Operations: []*mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH.Enum(), Launch: &mesos.Offer_Operation_Launch{TaskInfos: infos}}},
						Filters:    &mesos.Filters{RefuseSeconds: proto.Float64(3600)},
					}})
				})
			case mesos.Event_UPDATE:
				st := e.GetUpdate().GetStatus()
				if len(st.GetUuid()) > 0 {
					calls.Go(func() {
						c.Acknowledge(ctx, &mesos.Call_Acknowledge{AgentId: st.GetAgentId(), TaskId: st.GetTaskId(), Uuid: st.GetUuid()})
					})
				}
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done; calls.Wait() })
}
