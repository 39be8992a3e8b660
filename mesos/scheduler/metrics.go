package scheduler

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offerdeck/offerdeck/mesos"
)

// Registerer is where the scheduler registers its Prometheus metrics
// (prometheus.Registerer).
type Registerer = prometheus.Registerer

// metrics are the scheduler's Prometheus metrics; a nil *metrics records
// nothing.
type metrics struct {
	offers     prometheus.Gauge
	tasks      *prometheus.GaugeVec
	calls      *prometheus.CounterVec
	heartbeat  prometheus.Gauge
	connection prometheus.Gauge
	commits    prometheus.Histogram
}

func newMetrics(reg Registerer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		offers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "offerdeck_offers_held", Help: "Offers the framework holds."}),
		tasks:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "offerdeck_tasks", Help: "Tasks of the current registration by state."}, []string{"state"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "offerdeck_calls_total", Help: "Calls sent to the master by type and result."},
			[]string{"type", "result"}),
		heartbeat:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "offerdeck_last_event_timestamp_seconds", Help: "When the last master event (heartbeats included) arrived."}),
		connection: prometheus.NewGauge(prometheus.GaugeOpts{Name: "offerdeck_subscribed", Help: "1 while subscribed to a master, else 0."}),
		commits: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "offerdeck_state_commit_seconds",
			Help:    "How long each commit of the state database took, its fsync included; failed commits too.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}}),
	}
	reg.MustRegister(m.offers, m.tasks, m.calls, m.heartbeat, m.connection, m.commits)
	return m
}

// accepted counts n calls of type typ the master accepted.
func (m *metrics) accepted(typ string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.calls.WithLabelValues(typ, "accepted").Add(float64(n))
}

// call counts one call by its outcome: accepted, or the HTTP status or
// error class the master's answer fell in.
func (m *metrics) call(typ string, err error) {
	if m == nil {
		return
	}
	result := "accepted"
	var apiErr *mesos.APIError
	switch {
	case err == nil:
	case errors.As(err, &apiErr):
		result = http.StatusText(apiErr.Status)
	case errors.Is(err, mesos.ErrNotSubscribed):
		result = "not subscribed"
	default:
		result = "network"
	}
	m.calls.WithLabelValues(typ, result).Inc()
}

// committed records how long a commit took.
func (m *metrics) committed(d time.Duration) {
	if m != nil {
		m.commits.Observe(d.Seconds())
	}
}

// observe updates the gauges from the state.
func (m *metrics) observe(st *state) {
	if m == nil {
		return
	}
	m.offers.Set(float64(len(st.offers)))
	m.tasks.Reset()
	for s, n := range st.index.byState {
		if n > 0 {
			m.tasks.WithLabelValues(s.String()).Set(float64(n))
		}
	}
	if !st.conn.LastEvent.IsZero() {
		m.heartbeat.Set(float64(st.conn.LastEvent.UnixNano()) / 1e9)
	}
	if st.conn.State == mesos.Subscribed {
		m.connection.Set(1)
	} else {
		m.connection.Set(0)
	}
}
