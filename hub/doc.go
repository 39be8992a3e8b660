// Package hub is a publish/subscribe hub that fans rendered bytes out to
// many subscribers per topic.
//
// Every message carries a per-topic sequence number so a subscriber can join
// at the sequence of the page it was rendered with. Each subscriber has a
// bounded queue; one that falls behind is told to resync instead of blocking
// the publisher. The hub knows nothing of Mesos or HTML and imports none of
// Offerdeck's other packages.
package hub
