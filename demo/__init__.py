"""The demo environment: a simulated LeanVibe workload and a Kubernetes-API-compatible demo
cluster, so that the panel can be shown, tested and measured against something that behaves.

Not a Django app. ``python -m demo serve`` runs both servers in one process (they share the
cluster state: replicas lower latency, a rollout restart clears a memory leak, ...);
``python -m demo backfill`` writes weeks of history into Prometheus's data directory;
``python -m demo scenario NAME`` starts an incident. `make run` starts it in demo mode and never
when the panel is pointed at a real environment.
"""
