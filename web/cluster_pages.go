package web

import (
	"net/http"

	"github.com/offerdeck/offerdeck/ui"
)

// clusterAgentsPerPage is a page of the cluster's agents on the Agents
// page: each row has a meter per resource (about 2 KB), and the page must
// stay within 300 KB beside the 200 agents offering to us.
const clusterAgentsPerPage = 50

func (s *Server) cluster(w http.ResponseWriter, r *http.Request) error {
	var v ui.Cluster
	layout, err := s.page(w, r, "Cluster", "/cluster", topicCluster, func(m *model) {
		v.Status = clusterStatusView(m)
		v.Resources = clusterResourcesView(m)
		v.Counts = clusterCountsView(m)
	})
	if err != nil {
		return err
	}
	v.Layout = layout
	return render(w, r, http.StatusOK, ui.ClusterPage(v))
}

func (s *Server) frameworks(w http.ResponseWriter, r *http.Request) error {
	var v ui.Frameworks
	layout, err := s.page(w, r, "Frameworks", "/frameworks", topicFrameworks, func(m *model) {
		v.Status = clusterStatusView(m)
		v.Table = frameworksTable(m)
	})
	if err != nil {
		return err
	}
	v.Layout = layout
	return render(w, r, http.StatusOK, ui.FrameworksPage(v))
}

// clusterAgents builds the Agents page's list of every agent of the
// cluster, the page of it the request asks for (?cluster-page=N).
func clusterAgents(m *model, r *http.Request) ui.ClusterAgents {
	v := ui.ClusterAgents{Status: clusterStatusView(m)}
	order := m.cluster.agentOrder
	var from, to int
	v.Pager, from, to = paginateParam(r, len(order), clusterAgentsPerPage, "agents", "cluster-page")
	for _, id := range order[from:to] {
		v.Rows = append(v.Rows, clusterAgentRow(m, id))
	}
	return v
}

// clusterTasks serves the tasks of a framework other than ours, read-only.
// It reports false when id names ours, whose tasks page is the usual one.
func (s *Server) clusterTasks(w http.ResponseWriter, r *http.Request, id string) (bool, error) {
	v := ui.ClusterTasks{ID: id, Framework: id, PageID: clusterTasksPageID(id), BodyID: clusterTasksBodyID(id)}
	ours := false
	layout, err := s.page(w, r, "Tasks", "/tasks", topicClusterTasks, func(m *model) {
		if id == m.conn.FrameworkID {
			ours = true
			return
		}
		c := &m.cluster
		v.Status = clusterStatusView(m)
		f := c.frameworks[id]
		if f == nil {
			v.Gone = true
			return
		}
		if f.Name != "" {
			v.Framework = f.Name
		}
		list := c.fwTasks[id]
		var from, to int
		v.Pager, from, to = paginate(r, len(list), clusterTasksPerPage, "tasks")
		for i := len(list) - 1 - from; i >= len(list)-to; i-- { // newest first
			v.Rows = append(v.Rows, clusterTaskRow(m, list[i]))
		}
	})
	if err != nil || ours {
		return !ours, err
	}
	v.Layout = layout
	// 200 even when the framework is not registered: the page follows it
	// and turns into its tasks when it registers (a live page re-renders
	// only from a successful answer).
	return true, render(w, r, http.StatusOK, ui.ClusterTasksPage(v))
}
