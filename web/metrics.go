package web

import (
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// feedStats counts the live feed's work.
type feedStats struct {
	rendered  atomic.Uint64 // scheduler changes rendered for the pages
	coalesced atomic.Uint64 // skipped: a later change of the same task waited behind
}

// collector exports the web layer's figures at each scrape: the hub's
// counters and the feed's.
type collector struct{ s *Server }

var (
	viewersDesc   = prometheus.NewDesc("offerdeck_live_streams", "Live page streams open now.", nil, nil)
	publishedDesc = prometheus.NewDesc("offerdeck_hub_published_total", "Rendered changes published to the pages' topics.", nil, nil)
	deliveredDesc = prometheus.NewDesc("offerdeck_hub_delivered_total", "Rendered changes delivered to live streams.", nil, nil)
	skippedDesc   = prometheus.NewDesc("offerdeck_hub_coalesced_total", "Rendered changes a stream skipped because a newer one of the same element was in the same message.", nil, nil)
	resyncsDesc   = prometheus.NewDesc("offerdeck_hub_resyncs_total", "Times a stream fell further behind than the history and re-rendered its page.", nil, nil)
	hubSkipsDesc  = prometheus.NewDesc("offerdeck_hub_skips_total", "Times the feed left a topic nobody followed unrendered (pages of it rendered later re-render once).", nil, nil)
	retainedDesc  = prometheus.NewDesc("offerdeck_hub_retained_bytes", "Bytes of rendered changes the hub keeps for streams that are behind.", nil, nil)
	renderedDesc  = prometheus.NewDesc("offerdeck_feed_changes_rendered_total", "Scheduler changes the live feed rendered.", nil, nil)
	feedSkipDesc  = prometheus.NewDesc("offerdeck_feed_changes_coalesced_total", "Scheduler changes the live feed skipped because a later change of the same task waited behind them.", nil, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{viewersDesc, publishedDesc, deliveredDesc, skippedDesc, resyncsDesc, hubSkipsDesc, retainedDesc, renderedDesc, feedSkipDesc} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.hub.Stats()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(viewersDesc, float64(st.Subscribers))
	counter(publishedDesc, st.Published)
	counter(deliveredDesc, st.Delivered)
	counter(skippedDesc, st.Coalesced)
	counter(resyncsDesc, st.Resyncs)
	counter(hubSkipsDesc, st.Skips)
	gauge(retainedDesc, float64(st.RetainedBytes))
	counter(renderedDesc, c.s.feed.rendered.Load())
	counter(feedSkipDesc, c.s.feed.coalesced.Load())
}

// registerMetrics adds the web layer's figures to reg.
func (s *Server) registerMetrics(reg *prometheus.Registry) error {
	if err := reg.Register(collector{s}); err != nil {
		return fmt.Errorf("web: register metrics: %w", err)
	}
	return nil
}
