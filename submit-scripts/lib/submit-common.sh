# Shared by run-local.sh and submit-*.sh (sourced, not run): finds spark-submit and the job jar,
# parses the options every script has, and builds the spark-submit command in the array `cmd`.
#
# Usage of a script: SCRIPT [script options] [spark-submit options] COMMAND [ARGS...]
#   COMMAND ARGS   a splitlora command and its options (train --conf run.conf, prepare ..., eval ...)
# Script options (all scripts):
#   --dry-run              print the spark-submit command (shell-quoted) instead of running it
#   --jar PATH|URI         the job jar (default: $SPLITLORA_JOB_JAR, else the Spark 3.5 build's
#                          spark-job/target/splitlora-spark-job-*-job.jar, else the Spark 4 build's
#                          spark-job/target/spark4/splitlora-spark-job-*-spark4-job.jar)
#   --spark-defaults F     the project's Spark properties, passed as --conf entries on top of the
#                          cluster's spark-defaults.conf (default: conf/spark-defaults.conf; none = skip)
#   --torch-threads N      PyTorch threads per executor task (default 1; executor cores x N <= cores)
#   --split-port P         fixed split-server port on the driver (train: --set split.port=P)
# Any other --option (with its value, or as --option=value) goes to spark-submit as given.
# Environment: SPARK_HOME (else spark-submit on PATH), SPLITLORA_DIRECT_MEMORY (default 1g),
# SPLITLORA_JOB_JAR (the default --jar), SPLITLORA_DRY_RUN=1 (as --dry-run),
# SPLITLORA_DRIVER_THREADS (driver torch threads, default: all cores of the driver's machine).

set -euo pipefail

splitlora_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
main_class=org.splitlora.cli.SplitLoraCli

source "$splitlora_root/submit-scripts/lib/java-options.sh"

# --help: the running script's header comment.
usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

die() {
  echo "$(basename "$0"): $*" >&2
  exit 2
}

# The spark-submit executable: $SPARK_HOME/bin/spark-submit, else the one on PATH.
spark_submit_bin() {
  if [[ -n "${SPARK_HOME:-}" ]]; then
    [[ -x "$SPARK_HOME/bin/spark-submit" ]] || die "SPARK_HOME=$SPARK_HOME has no bin/spark-submit"
    echo "$SPARK_HOME/bin/spark-submit"
  elif command -v spark-submit >/dev/null 2>&1; then
    command -v spark-submit
  elif $dry_run; then
    echo spark-submit
  else
    die "spark-submit not found: set SPARK_HOME to the Spark installation of the job jar's build (3.5 / Scala 2.12, or 4.x / Scala 2.13 for the -Pspark4 jar) or put spark-submit on PATH"
  fi
}

default_job_jar() {
  local jar
  jar="$(ls "$splitlora_root"/spark-job/target/splitlora-spark-job-*-job.jar \
    "$splitlora_root"/spark-job/target/spark4/splitlora-spark-job-*-spark4-job.jar 2>/dev/null | head -n 1 || true)"
  [[ -n "$jar" ]] || die "no job jar; build it: mvn -q -B package -DskipTests (in $splitlora_root; -Pspark4 for Spark 4), or pass --jar"
  echo "$jar"
}

# Parses the common options into globals; script-specific ones are handled by the caller's
# `script_option NAME VALUE` hook (returns 0 when it took the option, 1 when it did not).
# SPLITLORA_DRY_RUN=1 does what --dry-run does (for `splitlora --master ...`, which has no script options)
dry_run=false
[[ "${SPLITLORA_DRY_RUN:-}" != 1 ]] || dry_run=true
job_jar="${SPLITLORA_JOB_JAR:-}"
spark_defaults="$splitlora_root/conf/spark-defaults.conf"
# the driver's torch threads; the YARN and Kubernetes scripts default to 4 instead
driver_threads="${SPLITLORA_DRIVER_THREADS:-$(nproc 2>/dev/null || echo 2)}"
torch_threads=1
torch_threads_given=false
split_port=""
spark_opts=()
ship_files=()   # spark-submit takes one --files list: the user's, the command's conf, log4j2
app_args=()

parse_args() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --dry-run) dry_run=true; shift ;;
      --jar) [[ $# -ge 2 ]] || die "--jar needs a value"; job_jar="$2"; shift 2 ;;
      --spark-defaults) [[ $# -ge 2 ]] || die "--spark-defaults needs a value"; spark_defaults="$2"; shift 2 ;;
      --torch-threads)
        [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || die "--torch-threads needs a positive integer"
        torch_threads="$2"; torch_threads_given=true; shift 2 ;;
      --split-port)
        [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -le 65535 ]] || die "--split-port needs a port in [0, 65535]"
        split_port="$2"; shift 2 ;;
      --help|-h) usage; exit 0 ;;
      --files) [[ $# -ge 2 ]] || die "--files needs a value"; ship_files+=("$2"); shift 2 ;;
      --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;  # --opt=value: parsed as --opt value
      --verbose|--supervise) spark_opts+=("$1"); shift ;;
      --*)
        if [[ $# -ge 2 ]] && script_option "$1" "$2"; then
          shift 2
        else
          [[ $# -ge 2 ]] || die "$1 needs a value"
          spark_opts+=("$1" "$2"); shift 2
        fi ;;
      *) app_args=("$@"); break ;;
    esac
  done
  [[ ${#app_args[@]} -gt 0 ]] || die "no splitlora command given (e.g. train --conf run.conf); see --help"
  if [[ -n "$split_port" ]]; then
    case "${app_args[0]}" in
      train|bench) app_args+=(--set "split.port=$split_port") ;;
      *) die "--split-port applies to train and bench, not ${app_args[0]}" ;;
    esac
  fi
}

# In YARN and Kubernetes cluster deploy mode the driver runs elsewhere: a local `--conf FILE` of
# the command is shipped with --files and named by its base name (YARN localizes it into the
# driver's working directory; Kubernetes uploads it to spark.kubernetes.file.upload.path and
# fetches it there). Sets shipped_conf when it shipped one.
ship_app_conf() {
  local i
  for ((i = 0; i < ${#app_args[@]} - 1; i++)); do
    if [[ "${app_args[$i]}" == --conf && -f "${app_args[$((i + 1))]}" ]]; then
      ship_files+=("$(cd "$(dirname "${app_args[$((i + 1))]}")" && pwd)/$(basename "${app_args[$((i + 1))]}")")
      app_args[$((i + 1))]="$(basename "${app_args[$((i + 1))]}")"
      shipped_conf=true
    fi
  done
}
shipped_conf=false

# The project's Spark properties as --conf entries (lines `key value`; # comments).
spark_defaults_confs() {
  [[ "$spark_defaults" != none ]] || return 0
  [[ -f "$spark_defaults" ]] || die "--spark-defaults $spark_defaults: no such file"
  local key value
  while read -r key value; do
    [[ -z "$key" || "$key" == \#* ]] || cmd+=(--conf "$key=$value")
  done < "$spark_defaults"
}

# Client deploy mode: the driver is the JVM spark-submit starts here, with this environment and
# the project's log4j2.properties.
driver_runs_here() {
  export OMP_NUM_THREADS="$driver_threads"
  driver_log_option="-Dlog4j2.configurationFile=file:$splitlora_root/conf/log4j2.properties"
}

# Java options for a JVM that runs SplitLoRA code (driver or executor).
jvm_options() {
  local threads="$1"
  echo "$submit_java_options -Dai.djl.offline=true -XX:MaxDirectMemorySize=${SPLITLORA_DIRECT_MEMORY:-1g}" \
    "-Dai.djl.pytorch.num_threads=$threads -Dai.djl.pytorch.num_interop_threads=1"
}

# Fills `cmd` with: spark-submit, the master-specific options in $@, the common ones, the
# user's spark-submit options, the jar and the command.
build_command() {
  [[ -n "$job_jar" ]] || job_jar="$(default_job_jar)"
  cmd=("$(spark_submit_bin)" "$@" --class "$main_class")
  spark_defaults_confs
  cmd+=(--conf "spark.driver.extraJavaOptions=$(jvm_options "$driver_threads")${driver_log_option:+ $driver_log_option}"
        --conf "spark.executor.extraJavaOptions=$(jvm_options "$torch_threads")"
        --conf "spark.executorEnv.OMP_NUM_THREADS=$torch_threads")
  if [[ ${#ship_files[@]} -gt 0 ]]; then
    cmd+=(--files "$(IFS=,; echo "${ship_files[*]}")")
  fi
  # ${a[@]+"${a[@]}"}: an empty array under set -u on bash < 4.4
  cmd+=(${spark_opts[@]+"${spark_opts[@]}"} "$job_jar" "${app_args[@]}")
}

run_command() {
  if $dry_run; then
    printf '%q ' "${cmd[@]}"
    echo
  else
    exec "${cmd[@]}"
  fi
}

# A script with no options of its own.
script_option() {
  return 1
}
