module k3smcp.local/cluster/crds

go 1.26.0

require (
	github.com/k3s-io/helm-controller v0.17.9
	github.com/kedacore/keda/v2 v2.21.0
)
