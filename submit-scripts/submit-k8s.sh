#!/usr/bin/env bash
# submit-k8s.sh --master k8s://https://API_SERVER:443 --image IMAGE [options] COMMAND [ARGS...] —
# spark-submit of the job to Kubernetes in cluster mode. The driver pod hosts the split server;
# Spark gives it a headless service, so executors reach any port of the driver pod through
# spark.driver.host (set --split-port where a NetworkPolicy must allow a fixed port).
# The image: a Spark image of the job jar's line (Spark 3.5 / Scala 2.12 for the default jar,
# Spark 4.x / Scala 2.13 for the -Pspark4 one) on Java 17 or 21 with the job jar at
# /opt/splitlora/splitlora-job.jar (or --jar local:///... / an s3a:// or https:// URI).
# Options: --master (required), --image (required), --namespace NS (default default),
# --service-account SA (default spark), --driver-threads N (default 4), --upload-path URI (where
# spark-submit uploads local files such as the command's --conf file, e.g. s3a://bucket/spark;
# required when the command names a local --conf), and those of
# lib/submit-common.sh (--dry-run, --jar, --spark-defaults, --torch-threads, --split-port).
# Other --options go to spark-submit.
source "$(dirname "${BASH_SOURCE[0]}")/lib/submit-common.sh"


master=""
image=""
namespace=default
service_account=spark
upload_path=""
driver_threads="${SPLITLORA_DRIVER_THREADS:-4}"
script_option() {
  case "$1" in
    --master) [[ "$2" == k8s://* ]] || die "--master must be k8s://https://HOST:PORT, got $2"; master="$2" ;;
    --image) image="$2" ;;
    --namespace) namespace="$2" ;;
    --service-account) service_account="$2" ;;
    --upload-path) upload_path="$2" ;;
    --driver-threads) [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "--driver-threads needs a positive integer"
      driver_threads="$2" ;;
    *) return 1 ;;
  esac
}

parse_args "$@"
[[ -n "$master" ]] || die "--master k8s://https://HOST:PORT is required"
[[ -n "$image" ]] || die "--image is required (a Spark image of the job jar's Spark line, Java 17+, holding the job jar)"
[[ -n "$job_jar" ]] || job_jar="local:///opt/splitlora/splitlora-job.jar"
ship_app_conf
extra=()
if [[ -n "$upload_path" ]]; then
  extra+=(--conf "spark.kubernetes.file.upload.path=$upload_path")
elif $shipped_conf; then
  die "the command's --conf file is local: give --upload-path URI (spark-submit uploads it there for the driver pod)"
fi
driver_log_option=""
build_command --master "$master" --deploy-mode cluster ${extra[@]+"${extra[@]}"} \
  --conf "spark.kubernetes.container.image=$image" \
  --conf "spark.kubernetes.namespace=$namespace" \
  --conf "spark.kubernetes.authenticate.driver.serviceAccountName=$service_account" \
  --conf "spark.kubernetes.driverEnv.OMP_NUM_THREADS=$driver_threads"
run_command
