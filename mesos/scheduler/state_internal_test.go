package scheduler

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// TestEventHistoryKeepsNewest checks the events page's history after every
// event: the newest EventHistory events, in order, with the memory behind
// them bounded.
func TestEventHistoryKeepsNewest(t *testing.T) {
	st := benchState()
	st.s.cfg.EventHistory = 100
	hb := &mesos.Event{Type: mesos.Event_HEARTBEAT.Enum()}
	for i := 1; i <= 1000; i++ {
		st.recordEvent(hb, time.Now())
		kept := st.keptEvents()
		if want := min(i, 100); len(kept) != want {
			t.Fatalf("after %d events: %d kept, want %d", i, len(kept), want)
		}
		for j, e := range kept {
			if want := uint64(i - len(kept) + 1 + j); e.Seq != want {
				t.Fatalf("after %d events: kept[%d].Seq = %d, want %d", i, j, e.Seq, want)
			}
		}
		if len(st.events) >= 200 {
			t.Fatalf("after %d events: %d held, want fewer than twice the history", i, len(st.events))
		}
	}
}

// TestClipKeepsRunesWhole: a cut message stays valid UTF-8 and says how
// long it was.
func TestClipKeepsRunesWhole(t *testing.T) {
	s := strings.Repeat("é", 10) // 20 bytes
	got := clip(s, 5)
	if !utf8.ValidString(got) || !strings.HasPrefix(got, "éé…") || !strings.Contains(got, "cut from 20 bytes") {
		t.Errorf("clip(%q, 5) = %q", s, got)
	}
	if got := clip("short", 5); got != "short" {
		t.Errorf("clip(short, 5) = %q", got)
	}
}

// TestEventHistoryBoundedByBytes: the events kept fit the byte budget,
// newest first, and the newest is kept even when it alone is over it.
func TestEventHistoryBoundedByBytes(t *testing.T) {
	st := benchState()
	st.s.cfg.EventHistory, st.s.cfg.EventHistoryBytes = 1000, 64<<10
	for i := range 500 {
		st.onEvent(&mesos.Event{Type: mesos.Event_ERROR.Enum(), Error: &mesos.Event_Error{Message: proto.String(fmt.Sprintf("%d %s", i, strings.Repeat("e", 1000)))}})
		kept, bytes := st.keptEvents(), 0
		for _, e := range kept {
			bytes += e.size
		}
		if bytes > st.s.cfg.EventHistoryBytes || kept[len(kept)-1].Seq != uint64(i+1) || st.eventBytes > 2*st.s.cfg.EventHistoryBytes {
			t.Fatalf("after %d events: %d kept in %d bytes (held %d), newest %d; want the newest within 64 KiB", i+1, len(kept), bytes, st.eventBytes, kept[len(kept)-1].Seq)
		}
	}
	st.s.cfg.EventHistoryBytes = 100 // smaller than any event
	st.onEvent(&mesos.Event{Type: mesos.Event_HEARTBEAT.Enum()})
	if kept := st.keptEvents(); len(kept) != 1 || kept[0].Type != "HEARTBEAT" {
		t.Errorf("with a budget below one event, kept %d events, want the newest", len(kept))
	}
}
