package web

import (
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/offerdeck/offerdeck/mesos/cluster"
)

// apiClusterResources are amounts of resources as the cluster view counts
// them: scalars, and ports as a count.
type apiClusterResources struct {
	CPUs  float64 `json:"cpus"`
	Mem   float64 `json:"mem"`
	Disk  float64 `json:"disk"`
	GPUs  float64 `json:"gpus"`
	Ports uint64  `json:"ports"`
}

func clusterResourcesJSON(r cluster.Resources) apiClusterResources {
	return apiClusterResources{CPUs: round3(r.CPUs), Mem: round3(r.Mem), Disk: round3(r.Disk), GPUs: round3(r.GPUs), Ports: r.Ports}
}

type apiClusterStatus struct {
	On                bool       `json:"on"`
	Source            string     `json:"source"` // stream, poll
	Live              bool       `json:"live"`
	Master            string     `json:"master"`
	Since             *time.Time `json:"since"`
	LastRead          *time.Time `json:"last_read"`
	Refused           string     `json:"refused"`
	Error             string     `json:"error"`
	PollSeconds       float64    `json:"poll_seconds"`
	RefreshSeconds    float64    `json:"refresh_seconds"`
	ActiveAgents      int        `json:"active_agents"`
	DeactivatedAgents int        `json:"deactivated_agents"`
	Disconnected      int        `json:"disconnected_agents"`
	GoneAgents        int        `json:"gone_agents"`
}

type apiFramework struct {
	ID        string              `json:"id"`
	Name      string              `json:"name"`
	User      string              `json:"user"`
	Principal string              `json:"principal"`
	Roles     []string            `json:"roles"`
	Active    bool                `json:"active"`
	Connected bool                `json:"connected"`
	Ours      bool                `json:"ours"`
	Tasks     int                 `json:"tasks"`
	Used      apiClusterResources `json:"used"`
	// Offered is what is offered to it, as of OfferedAt: now for ours,
	// the last read for others; null when never read.
	Offered   *apiClusterResources `json:"offered"`
	OfferedAt *time.Time           `json:"offered_at"`
	WebUI     string               `json:"webui_url"`
}

// apiCluster is GET /cluster: the whole cluster in numbers and its
// frameworks, from the operator stream (status.on false: the view is off).
func (s *Server) apiCluster(w http.ResponseWriter, r *http.Request) error {
	if err := newQuery(r, nil).err(); err != nil {
		return err
	}
	type answer struct {
		Status       apiClusterStatus               `json:"status"`
		Total        apiClusterResources            `json:"total"`
		Used         apiClusterResources            `json:"used"`
		UsedByUs     apiClusterResources            `json:"used_by_us"`
		OfferedToUs  apiClusterResources            `json:"offered_to_us"`
		UsedByRole   map[string]apiClusterResources `json:"used_by_role"`
		TasksByState map[string]int                 `json:"tasks_by_state"`
		Frameworks   []apiFramework                 `json:"frameworks"`
	}
	var v answer
	_, err := s.live.read(r.Context(), nil, func(m *model) {
		c := &m.cluster
		st, sum := c.status, c.summary
		v = answer{
			Status: apiClusterStatus{
				On: c.on, Source: string(st.Source), Live: st.Live, Master: st.Master, Since: timeOrNil(st.Since),
				LastRead: timeOrNil(st.LastRead), Refused: st.Refused, Error: st.Err,
				PollSeconds: st.PollEvery.Seconds(), RefreshSeconds: st.RefreshEvery.Seconds(),
				ActiveAgents: sum.Active, DeactivatedAgents: sum.Deactivated, Disconnected: sum.Disconnected, GoneAgents: sum.Gone,
			},
			Total: clusterResourcesJSON(sum.Total), Used: clusterResourcesJSON(sum.Used), OfferedToUs: clusterResourcesJSON(c.offered),
			UsedByRole: map[string]apiClusterResources{}, TasksByState: maps.Clone(sum.TasksByState), Frameworks: []apiFramework{},
		}
		if v.TasksByState == nil {
			v.TasksByState = map[string]int{}
		}
		for role, used := range sum.UsedByRole {
			v.UsedByRole[role] = clusterResourcesJSON(used)
		}
		for _, id := range c.fwOrder {
			f := c.frameworks[id]
			out := apiFramework{ID: f.ID, Name: f.Name, User: f.User, Principal: f.Principal, Roles: slices.Clone(f.Roles),
				Active: f.Active, Connected: f.Connected, Ours: f.ID == m.conn.FrameworkID, Tasks: f.Tasks,
				Used: clusterResourcesJSON(f.Used), WebUI: safeWebUI(f.WebUI)}
			switch {
			case out.Ours:
				offered := clusterResourcesJSON(c.offered)
				out.Offered, out.OfferedAt = &offered, timeOrNil(time.Now())
				v.UsedByUs = out.Used
			case !f.OfferedAt.IsZero():
				offered := clusterResourcesJSON(f.Offered)
				out.Offered, out.OfferedAt = &offered, timeOrNil(f.OfferedAt)
			}
			v.Frameworks = append(v.Frameworks, out)
		}
	})
	if err != nil {
		return err
	}
	return writeAPI(w, http.StatusOK, v)
}
