#!/usr/bin/env bash
# run-local.sh [options] COMMAND [ARGS...] — spark-submit of the job jar in local mode on this
# machine: the driver's split server and the client tasks in one JVM.
# Options: --master local[N,F] (default local[*,4]: a slot per core, 4 attempts per task; a round
# needs a slot per client), and those of lib/submit-common.sh (--dry-run, --jar,
# --spark-defaults, --torch-threads, --split-port); other --options go to spark-submit.
source "$(dirname "${BASH_SOURCE[0]}")/lib/submit-common.sh"


master="local[*,4]"
script_option() {
  case "$1" in
    --master) [[ "$2" == local* ]] || die "--master must be local[...] here (use submit-standalone.sh, submit-yarn.sh or submit-k8s.sh for a cluster)"
      master="$2" ;;
    *) return 1 ;;
  esac
}

parse_args "$@"
# local mode: one JVM, so the driver's torch threads are the tasks' too
$torch_threads_given || torch_threads="$driver_threads"
driver_threads="$torch_threads"
driver_runs_here
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
build_command --master "$master" --deploy-mode client
run_command
