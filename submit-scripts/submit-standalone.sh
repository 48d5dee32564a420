#!/usr/bin/env bash
# submit-standalone.sh --master spark://HOST:7077 [options] COMMAND [ARGS...] — spark-submit of the
# job jar to a Spark standalone cluster.
# Options: --master (required), --deploy-mode client|cluster (default client: the driver, and with
# it the split server, runs here; in cluster mode a worker runs the driver, so the job jar, the
# command's --conf file and the data must be at paths or URIs every worker can read), --driver-host H (address executors dial for the driver and the
# split server; default: Spark's choice), and those of lib/submit-common.sh (--dry-run, --jar,
# --spark-defaults, --torch-threads, --split-port). Other --options go to spark-submit.
source "$(dirname "${BASH_SOURCE[0]}")/lib/submit-common.sh"


master=""
deploy_mode=client
driver_host=""
script_option() {
  case "$1" in
    --master) [[ "$2" == spark://* ]] || die "--master must be spark://HOST:PORT, got $2"; master="$2" ;;
    --deploy-mode) [[ "$2" == client || "$2" == cluster ]] || die "--deploy-mode must be client or cluster"; deploy_mode="$2" ;;
    --driver-host) driver_host="$2" ;;
    *) return 1 ;;
  esac
}

parse_args "$@"
[[ -n "$master" ]] || die "--master spark://HOST:PORT is required"
extra=()
if [[ "$deploy_mode" == client ]]; then
  driver_runs_here
else
  echo "$(basename "$0"): cluster mode: a worker runs the driver; the jar ($job_jar), --conf files and data" \
    "must be at paths every worker can read (a shared mount, hdfs://, s3a://)" >&2
fi
[[ -z "$driver_host" ]] || extra+=(--conf "spark.driver.host=$driver_host")
build_command --master "$master" --deploy-mode "$deploy_mode" ${extra[@]+"${extra[@]}"}
run_command
