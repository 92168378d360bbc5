/*
 * test_k8smeta.c — Kubernetes metadata from kubelet log paths: the
 * /var/log/containers and /var/log/pods shapes with real-shaped names
 * (Deployment, StatefulSet and Job pods, namespaces with dashes, container
 * names with dashes), and paths that must not parse.
 */
#include "k8smeta.h"
#include "t.h"

#define ID "7d3c5a1f0e9b8c2d4a6f1e3b5c7d9e0f2a4b6c8d0e1f3a5b7c9d1e2f4a6b8c0d"

static void test_containers_deployment(void) {
    lr__k8s_meta m;
    T_EQ_INT(lr__k8s_meta_parse("/var/log/containers/coredns-5d78c9869d-xk2vq_kube-system_coredns-" ID ".log", &m), 1);
    T_EQ_STR(m.pod, "coredns-5d78c9869d-xk2vq");
    T_EQ_STR(m.ns, "kube-system");
    T_EQ_STR(m.container, "coredns");
    T_EQ_STR(m.container_id, ID);
}

static void test_containers_statefulset_job(void) {
    lr__k8s_meta m;
    T_EQ_INT(lr__k8s_meta_parse("/var/log/containers/web-0_shop-prod-eu_nginx-sidecar-" ID ".log", &m), 1);
    T_EQ_STR(m.pod, "web-0");
    T_EQ_STR(m.ns, "shop-prod-eu");
    T_EQ_STR(m.container, "nginx-sidecar");
    T_EQ_INT(lr__k8s_meta_parse("containers/backup-28391040-7k2qd_ops_backup-" ID ".log", &m), 1);
    T_EQ_STR(m.pod, "backup-28391040-7k2qd");
    T_EQ_STR(m.ns, "ops");
    /* a pod name is a DNS subdomain: dots are allowed */
    T_EQ_INT(lr__k8s_meta_parse("/x/my.pod-1_default_app-" ID ".log", &m), 1);
    T_EQ_STR(m.pod, "my.pod-1");
}

static void test_pods_shape(void) {
    lr__k8s_meta m;
    T_EQ_INT(lr__k8s_meta_parse("/var/log/pods/kube-system_etcd-node-1_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/etcd/3.log",
                                &m), 1);
    T_EQ_STR(m.ns, "kube-system");
    T_EQ_STR(m.pod, "etcd-node-1");
    T_EQ_STR(m.container, "etcd");
    T_EQ_STR(m.container_id, "");
    T_EQ_INT(lr__k8s_meta_parse("/tmp/t/var/log/pods/ns-a_web-2_1111-22/app-x/0.log", &m), 1);
    T_EQ_STR(m.container, "app-x");
}

static void test_not_kubernetes(void) {
    lr__k8s_meta m;
    T_EQ_INT(lr__k8s_meta_parse("/var/log/syslog", &m), 0);
    T_EQ_STR(m.pod, "");
    T_EQ_INT(lr__k8s_meta_parse("/var/log/app.log", &m), 0);
    T_EQ_INT(lr__k8s_meta_parse("", &m), 0);
    T_EQ_INT(lr__k8s_meta_parse("/var/log/containers/a_b_c-short.log", &m), 0);          /* id not 64 */
    T_EQ_INT(lr__k8s_meta_parse("/var/log/containers/a_b-" ID ".log", &m), 0);           /* two parts */
    T_EQ_INT(lr__k8s_meta_parse("/var/log/containers/A_b_c-" ID ".log", &m), 0);         /* upper case */
    T_EQ_INT(lr__k8s_meta_parse("/var/log/containers/a_b_c_d-" ID ".log", &m), 0);       /* '_' in a name */
    T_EQ_INT(lr__k8s_meta_parse("/var/log/containers/a_b_c-" ID ".log.1", &m), 0);       /* rotated name */
    T_EQ_INT(lr__k8s_meta_parse("/var/log/pods/ns_pod_uid/c/x.log", &m), 0);             /* not a number */
    T_EQ_INT(lr__k8s_meta_parse("c/0.log", &m), 0);
    T_EQ_INT(lr__k8s_meta_parse("0.log", &m), 0);
}

static void test_json(void) {
    lr__buf b;
    lr__buf_init(&b);
    T_EQ_INT(lr__k8s_meta_json("/var/log/containers/web-0_shop_app-" ID ".log", &b), 0);
    T_EQ_STR(b.data, "\"file\":\"/var/log/containers/web-0_shop_app-" ID ".log\",\"pod\":\"web-0\","
                     "\"namespace\":\"shop\",\"container\":\"app\",\"container_id\":\"" ID "\"");
    lr__buf_clear(&b);
    T_EQ_INT(lr__k8s_meta_json("/tmp/a \"b\"\xff.log", &b), 0);
    T_EQ_STR(b.data, "\"file\":\"/tmp/a \\\"b\\\"\xef\xbf\xbd.log\"");
    lr__buf_free(&b);
}

T_MAIN(T_CASE(test_containers_deployment), T_CASE(test_containers_statefulset_job), T_CASE(test_pods_shape),
       T_CASE(test_not_kubernetes), T_CASE(test_json))
