//! A synthetic EKS cluster for load measurements: Deployments with their
//! ReplicaSets and Pods spread over nodes, events for every pod, and some pods stuck
//! in `ImagePullBackOff` because ECR answers 403.

use serde_json::{Value, json};

use crate::store::uid_for;

/// The image the failing pods cannot pull.
pub const FAILING_IMAGE: &str =
    "1234567890.dkr.ecr.us-west-2.amazonaws.com/retail-sample-app-ui:1.2.1";

/// The namespace of the failing Deployment (`ui`).
pub const FAILING_NAMESPACE: &str = "retail";

/// Pods per healthy Deployment.
const PODS_PER_DEPLOYMENT: usize = 10;
/// Pods per node, roughly.
const PODS_PER_NODE: usize = 20;

const NAMESPACES: &[&str] = &[
    "retail",
    "catalog",
    "checkout",
    "orders",
    "payments",
    "monitoring",
];
const APPS: &[&str] = &[
    "carts",
    "catalog",
    "checkout",
    "orders",
    "assets",
    "payments",
    "shipping",
    "reviews",
    "search",
    "recommender",
];
const ZONES: &[&str] = &["us-west-2a", "us-west-2b", "us-west-2c"];

/// Kubernetes' random-name alphabet (no vowels, no confusable digits).
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn hash(seed: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A deterministic suffix of `len` characters, like the ones controllers generate.
fn suffix(seed: &str, len: usize) -> String {
    let mut h = hash(seed);
    let n = ALPHABET.len() as u64;
    (0..len)
        .map(|i| {
            if i % 12 == 11 {
                h = hash(&format!("{seed}{i}"));
            }
            let c = ALPHABET[(h % n) as usize];
            h /= n;
            char::from(c)
        })
        .collect()
}

/// `2025-06-01T..Z`, `secs` seconds after 06:00.
fn ts(secs: usize) -> String {
    let s = (6 * 3600 + secs) % 86_400;
    format!(
        "2025-06-01T{:02}:{:02}:{:02}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

struct Node {
    name: String,
    ip: String,
}

fn node_objects(count: usize) -> (Vec<Node>, Vec<Value>) {
    let mut nodes = Vec::new();
    let mut objs = Vec::new();
    for i in 0..count {
        let ip = format!("10.0.{}.{}", 16 + i / 250, 10 + i % 250);
        let name = format!("ip-{}.us-west-2.compute.internal", ip.replace('.', "-"));
        let zone = ZONES[i % ZONES.len()];
        let instance = format!("i-0{:016x}", hash(&name) & 0x0fff_ffff_ffff_ffff);
        objs.push(json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "uid": uid_for(&format!("node/{name}")),
                "creationTimestamp": ts(0),
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "node.kubernetes.io/instance-type": "m5.xlarge",
                    "topology.kubernetes.io/region": "us-west-2",
                    "topology.kubernetes.io/zone": zone,
                    "eks.amazonaws.com/nodegroup": "default",
                    "eks.amazonaws.com/capacityType": "ON_DEMAND",
                }
            },
            "spec": {"providerID": format!("aws:///{zone}/{instance}")},
            "status": {
                "capacity": {"cpu": "4", "memory": "15896Mi", "pods": "58", "ephemeral-storage": "83873772Ki"},
                "allocatable": {"cpu": "3920m", "memory": "14879Mi", "pods": "58", "ephemeral-storage": "76224326324"},
                "conditions": [
                    {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "lastHeartbeatTime": ts(7200), "lastTransitionTime": ts(0)},
                    {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "lastHeartbeatTime": ts(7200), "lastTransitionTime": ts(0)},
                    {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "lastHeartbeatTime": ts(7200), "lastTransitionTime": ts(0)},
                    {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": ts(7200), "lastTransitionTime": ts(30)}
                ],
                "addresses": [
                    {"type": "InternalIP", "address": ip},
                    {"type": "Hostname", "address": name},
                    {"type": "InternalDNS", "address": name}
                ],
                "nodeInfo": {
                    "kubeletVersion": "v1.31.4-eks-0f56d01",
                    "kubeProxyVersion": "v1.31.4-eks-0f56d01",
                    "containerRuntimeVersion": "containerd://1.7.25",
                    "osImage": "Amazon Linux 2023.6.20250123",
                    "kernelVersion": "6.1.124-134.200.amzn2023.x86_64",
                    "operatingSystem": "linux",
                    "architecture": "amd64"
                }
            }
        }));
        nodes.push(Node { name, ip });
    }
    (nodes, objs)
}

#[allow(clippy::too_many_arguments)]
fn event(
    pod_ns: &str,
    pod: &str,
    pod_uid: &str,
    container: Option<&str>,
    node: &str,
    reason: &str,
    message: &str,
    kind: &str,
    count: u32,
    at: usize,
) -> Value {
    let name = format!("{pod}.{:016x}", hash(&format!("{pod}/{reason}/{message}")));
    let component = if reason == "Scheduled" {
        "default-scheduler"
    } else {
        "kubelet"
    };
    let mut involved = json!({"kind": "Pod", "namespace": pod_ns, "name": pod, "uid": pod_uid, "apiVersion": "v1"});
    if let Some(c) = container {
        involved["fieldPath"] = json!(format!("spec.containers{{{c}}}"));
    }
    let mut source = json!({"component": component});
    if component == "kubelet" {
        source["host"] = json!(node);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": pod_ns, "creationTimestamp": ts(at)},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": ts(at),
        "lastTimestamp": ts(at + if count > 1 { 3600 } else { 0 }),
        "count": count,
        "type": kind,
        "eventTime": null,
        "reportingComponent": component,
        "reportingInstance": if component == "kubelet" { node } else { "" },
    })
}

/// One Deployment and what it owns.
struct Workload<'a> {
    namespace: &'a str,
    name: String,
    image: String,
    replicas: usize,
    failing: bool,
}

fn workload_objects(w: &Workload<'_>, nodes: &[Node], next_pod: &mut usize, out: &mut Vec<Value>) {
    let ns = w.namespace;
    let hash10 = suffix(&format!("{ns}/{}", w.name), 10);
    let rs_name = format!("{}-{hash10}", w.name);
    let deploy_uid = uid_for(&format!("deployment/{ns}/{}", w.name));
    let rs_uid = uid_for(&format!("replicaset/{ns}/{rs_name}"));
    let app = w.name.clone();
    let labels = json!({"app": app, "app.kubernetes.io/name": app});
    let container = json!({
        "name": app,
        "image": w.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
    });
    let template = json!({"metadata": {"labels": labels}, "spec": {"containers": [container], "serviceAccountName": "default"}});
    let replicas = w.replicas;
    let ready = if w.failing { 0 } else { replicas };
    let mut deploy_status = json!({
        "observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
        "readyReplicas": ready, "availableReplicas": ready,
        "conditions": [
            {"type": "Available", "status": if w.failing { "False" } else { "True" },
             "reason": if w.failing { "MinimumReplicasUnavailable" } else { "MinimumReplicasAvailable" },
             "message": if w.failing { "Deployment does not have minimum availability." } else { "Deployment has minimum availability." },
             "lastUpdateTime": ts(60), "lastTransitionTime": ts(60)},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
             "lastUpdateTime": ts(60), "lastTransitionTime": ts(30)}
        ]
    });
    if w.failing {
        deploy_status["unavailableReplicas"] = json!(replicas);
        if let Some(m) = deploy_status.as_object_mut() {
            m.remove("readyReplicas");
            m.remove("availableReplicas");
        }
    }
    out.push(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": w.name, "namespace": ns, "uid": deploy_uid, "generation": 1, "labels": labels,
                     "creationTimestamp": ts(30), "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template,
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}},
        "status": deploy_status,
    }));
    let mut rs_labels = labels.clone();
    rs_labels["pod-template-hash"] = json!(hash10);
    let mut rs_status =
        json!({"replicas": replicas, "fullyLabeledReplicas": replicas, "observedGeneration": 1});
    if !w.failing {
        rs_status["readyReplicas"] = json!(replicas);
        rs_status["availableReplicas"] = json!(replicas);
    }
    let mut rs_template = template.clone();
    rs_template["metadata"]["labels"] = rs_labels.clone();
    out.push(json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": rs_name, "namespace": ns, "uid": rs_uid, "generation": 1, "labels": rs_labels,
                     "creationTimestamp": ts(30),
                     "annotations": {"deployment.kubernetes.io/desired-replicas": replicas.to_string(), "deployment.kubernetes.io/revision": "1"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": w.name, "uid": deploy_uid, "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"replicas": replicas, "selector": {"matchLabels": rs_labels}, "template": rs_template},
        "status": rs_status,
    }));
    for r in 0..replicas {
        let i = *next_pod;
        *next_pod += 1;
        let node = &nodes[i % nodes.len()];
        let pod = format!("{rs_name}-{}", suffix(&format!("{ns}/{rs_name}/{r}"), 5));
        let pod_uid = uid_for(&format!("pod/{ns}/{pod}"));
        let pod_ip = format!("10.0.{}.{}", 128 + (i / 250) % 100, 10 + i % 250);
        let created = 40 + i % 600;
        let (phase, conditions, state, ready) = if w.failing {
            (
                "Pending",
                json!([
                    {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": ts(created + 2)},
                    {"type": "Initialized", "status": "True", "lastTransitionTime": ts(created)},
                    {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": format!("containers with unready status: [{app}]"), "lastTransitionTime": ts(created)},
                    {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady", "message": format!("containers with unready status: [{app}]"), "lastTransitionTime": ts(created)},
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(created)}
                ]),
                json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{}\"", w.image)}}),
                false,
            )
        } else {
            (
                "Running",
                json!([
                    {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": ts(created + 2)},
                    {"type": "Initialized", "status": "True", "lastTransitionTime": ts(created)},
                    {"type": "Ready", "status": "True", "lastTransitionTime": ts(created + 5)},
                    {"type": "ContainersReady", "status": "True", "lastTransitionTime": ts(created + 5)},
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(created)}
                ]),
                json!({"running": {"startedAt": ts(created + 4)}}),
                true,
            )
        };
        let mut cstatus = json!({"name": app, "image": w.image, "imageID": "", "ready": ready,
                                 "restartCount": 0, "started": ready, "state": state});
        if ready {
            cstatus["imageID"] = json!(format!(
                "{}@sha256:{:016x}{:016x}{:016x}{:016x}",
                w.image.split(':').next().unwrap_or(""),
                hash(&w.image),
                hash(&app),
                hash(ns),
                hash(&rs_name)
            ));
            cstatus["containerID"] = json!(format!(
                "containerd://{:016x}{:016x}{:016x}{:016x}",
                hash(&pod),
                hash(&pod_uid),
                hash(&node.name),
                i
            ));
        }
        let mut pod_labels = rs_labels.clone();
        pod_labels["pod-template-hash"] = json!(hash10);
        out.push(json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": pod, "namespace": ns, "uid": pod_uid, "labels": pod_labels,
                         "generateName": format!("{rs_name}-"), "creationTimestamp": ts(created),
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "uid": rs_uid, "controller": true, "blockOwnerDeletion": true}]},
            "spec": {"nodeName": node.name, "serviceAccountName": "default", "restartPolicy": "Always",
                     "schedulerName": "default-scheduler", "dnsPolicy": "ClusterFirst", "enableServiceLinks": true,
                     "terminationGracePeriodSeconds": 30, "containers": [container],
                     "tolerations": [
                        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
                     ]},
            "status": {"phase": phase, "conditions": conditions, "hostIP": node.ip, "hostIPs": [{"ip": node.ip}],
                       "podIP": pod_ip, "podIPs": [{"ip": pod_ip}], "startTime": ts(created), "qosClass": "Burstable",
                       "containerStatuses": [cstatus]},
        }));
        let c = Some(app.as_str());
        let n = node.name.as_str();
        out.push(event(
            ns,
            &pod,
            &pod_uid,
            None,
            n,
            "Scheduled",
            &format!("Successfully assigned {ns}/{pod} to {n}"),
            "Normal",
            1,
            created,
        ));
        if w.failing {
            let img = &w.image;
            let (repo, tag) = img.rsplit_once(':').unwrap_or((img.as_str(), "latest"));
            let (registry, path) = repo.split_once('/').unwrap_or((repo, ""));
            let pull_error = format!(
                "Failed to pull image \"{img}\": failed to pull and unpack image \"{img}\": failed to resolve reference \"{img}\": unexpected status from HEAD request to https://{registry}/v2/{path}/manifests/{tag}: 403 Forbidden"
            );
            out.push(event(
                ns,
                &pod,
                &pod_uid,
                c,
                n,
                "Pulling",
                &format!("Pulling image \"{img}\""),
                "Normal",
                5,
                created + 1,
            ));
            out.push(event(
                ns,
                &pod,
                &pod_uid,
                c,
                n,
                "Failed",
                &pull_error,
                "Warning",
                5,
                created + 2,
            ));
            out.push(event(
                ns,
                &pod,
                &pod_uid,
                c,
                n,
                "Failed",
                "Error: ErrImagePull",
                "Warning",
                5,
                created + 2,
            ));
            out.push(event(
                ns,
                &pod,
                &pod_uid,
                c,
                n,
                "BackOff",
                &format!("Back-off pulling image \"{img}\""),
                "Normal",
                40,
                created + 3,
            ));
            out.push(event(
                ns,
                &pod,
                &pod_uid,
                c,
                n,
                "Failed",
                "Error: ImagePullBackOff",
                "Warning",
                40,
                created + 3,
            ));
        } else {
            out.push(event(
                ns,
                &pod,
                &pod_uid,
                c,
                n,
                "Pulled",
                &format!("Container image \"{}\" already present on machine", w.image),
                "Normal",
                1,
                created + 2,
            ));
            out.push(event(
                ns,
                &pod,
                &pod_uid,
                c,
                n,
                "Created",
                &format!("Created container: {app}"),
                "Normal",
                1,
                created + 3,
            ));
            out.push(event(
                ns,
                &pod,
                &pod_uid,
                c,
                n,
                "Started",
                &format!("Started container {app}"),
                "Normal",
                1,
                created + 4,
            ));
        }
    }
}

/// A synthetic cluster of `pods` pods (at least 1), `failing` of them (at most all)
/// in `ImagePullBackOff` on [`FAILING_IMAGE`] as Deployment `ui` in
/// [`FAILING_NAMESPACE`], with kubelet `Failed` events carrying ECR's 403. The
/// others run in Deployments of ten replicas across a few namespaces. There is a
/// node per twenty pods, namespaces with a `default` ServiceAccount and an Opaque
/// Secret each, and events for every pod. Deterministic: the same arguments give
/// the same objects.
pub fn cluster(pods: usize, failing: usize) -> Vec<Value> {
    let pods = pods.max(1);
    let failing = failing.min(pods);
    let (nodes, mut out) = node_objects(pods.div_ceil(PODS_PER_NODE));
    for ns in NAMESPACES {
        out.push(json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "uid": uid_for(&format!("namespace/{ns}")), "creationTimestamp": ts(0),
                         "labels": {"kubernetes.io/metadata.name": ns}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"}
        }));
        out.push(json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": ns, "creationTimestamp": ts(0)}
        }));
        out.push(json!({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "app-credentials", "namespace": ns, "creationTimestamp": ts(0)},
            "data": {"password": "bm90LWEtcmVhbC1zZWNyZXQ="}
        }));
    }
    let mut next_pod = 0;
    if failing > 0 {
        let w = Workload {
            namespace: FAILING_NAMESPACE,
            name: "ui".to_string(),
            image: FAILING_IMAGE.to_string(),
            replicas: failing,
            failing: true,
        };
        workload_objects(&w, &nodes, &mut next_pod, &mut out);
    }
    let mut healthy = pods - failing;
    let mut k = 0;
    while healthy > 0 {
        let replicas = healthy.min(PODS_PER_DEPLOYMENT);
        let app = APPS[k % APPS.len()];
        let w = Workload {
            namespace: NAMESPACES[k % NAMESPACES.len()],
            name: format!("{app}-{}", k / APPS.len()),
            image: format!("public.ecr.aws/aws-containers/retail-store-sample-{app}:1.2.1"),
            replicas,
            failing: false,
        };
        workload_objects(&w, &nodes, &mut next_pod, &mut out);
        healthy -= replicas;
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn counts_and_shape() {
        let objs = cluster(200, 7);
        let of = |k: &str| objs.iter().filter(|o| o["kind"] == k).count();
        assert_eq!(of("Pod"), 200);
        assert_eq!(of("Node"), 10);
        let failing: Vec<_> = objs
            .iter()
            .filter(|o| o["kind"] == "Pod" && o["status"]["phase"] == "Pending")
            .collect();
        assert_eq!(failing.len(), 7);
        let forbidden = objs
            .iter()
            .filter(|o| o["kind"] == "Event" && o["reason"] == "Failed")
            .filter(|o| {
                o["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("403 Forbidden"))
            })
            .count();
        assert_eq!(forbidden, 7);
        // Every pod has events, every object is servable, names are unique.
        let store = Store::new(objs.clone());
        assert!(store.is_ok());
        assert_eq!(store.map(|s| s.len()).unwrap_or(0), objs.len());
        assert_eq!(cluster(200, 7), objs);
    }
}
