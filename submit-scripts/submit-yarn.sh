#!/usr/bin/env bash
# submit-yarn.sh [options] COMMAND [ARGS...] — spark-submit of the job jar to YARN
# (HADOOP_CONF_DIR or YARN_CONF_DIR must name the cluster's configuration).
# Options: --deploy-mode cluster|client (default cluster: the driver, and with it the split server,
# runs in the application master's container; client: here, so executors must reach this machine:
# give --driver-host and open the driver, block manager and split ports), --driver-host H (client
# mode), --driver-port P and --block-manager-port P (fixed ports for firewalls), --queue Q, and
# those of lib/submit-common.sh (--dry-run, --jar, --spark-defaults, --torch-threads, --split-port).
# Other --options go to spark-submit.
source "$(dirname "${BASH_SOURCE[0]}")/lib/submit-common.sh"


deploy_mode=cluster
driver_host=""
extra=()
script_option() {
  case "$1" in
    --deploy-mode) [[ "$2" == client || "$2" == cluster ]] || die "--deploy-mode must be client or cluster"; deploy_mode="$2" ;;
    --driver-host) driver_host="$2" ;;
    --driver-port) extra+=(--conf "spark.driver.port=$2") ;;
    --block-manager-port) extra+=(--conf "spark.blockManager.port=$2") ;;
    --queue) extra+=(--queue "$2") ;;
    *) return 1 ;;
  esac
}

driver_threads="${SPLITLORA_DRIVER_THREADS:-4}"
parse_args "$@"
if [[ "$deploy_mode" == client ]]; then
  [[ -n "$driver_host" ]] || echo "$(basename "$0"): warning: client mode without --driver-host; executors dial" \
    "Spark's guess of this machine's address" >&2
  [[ -z "$driver_host" ]] || extra+=(--conf "spark.driver.host=$driver_host")
  driver_runs_here
else
  [[ -z "$driver_host" ]] || die "--driver-host is for client mode; in cluster mode YARN places the driver"
  ship_app_conf
  # YARN localizes --files into the container's working directory before the driver starts
  ship_files+=("$splitlora_root/conf/log4j2.properties")
  extra+=(--conf "spark.yarn.appMasterEnv.OMP_NUM_THREADS=$driver_threads")
  driver_log_option="-Dlog4j2.configurationFile=log4j2.properties"
fi
build_command --master yarn --deploy-mode "$deploy_mode" ${extra[@]+"${extra[@]}"}
run_command
