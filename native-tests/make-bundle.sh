#!/usr/bin/env bash
# Builds the self-contained GPU test bundle: a jlinked JDK 25 runtime, Frugal's jars with their
# dependencies, the `frugal` command-line jar, the JUnit console launcher and run scripts, packed
# as one .tar.gz that runs the `gpu` test suite, `frugal bench`/`train --device cuda` and the
# PyTorch comparisons on a machine that has a GPU but no JDK, no Maven and no network.
#
#   native-tests/make-bundle.sh [OUTPUT_DIR]      (default: dist/ at the repository root)
#
# Needs a JDK 25 (JAVA_HOME, or one under /usr/lib/jvm) and Maven; it calls plain `mvn`, so on a
# machine where builds are serialised with a lock, take the lock around the whole script, e.g.
#   flock /tmp/frugal-mvn.lock native-tests/make-bundle.sh
# MVN_FLAGS adds Maven flags (e.g. MVN_FLAGS=-o to build offline once the JUnit console jar is cached).
#
# On the GPU machine (see docs/gpu-tests.md):
#   tar xzf frugal-gpu-bundle.tar.gz && frugal-gpu-bundle/run-gpu-tests.sh [REPORT_DIR]
# or, from a checkout of the repository with dist/ beside it, everything in one go:
#   native-tests/gpu-session.sh REPORT_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_dir="${1:-$root/dist}"
junit_console_version=1.11.4
mvn_flags=(-B -q ${MVN_FLAGS:-})

is_jdk25() { [ -x "$1/bin/jlink" ] && "$1/bin/java" -version 2>&1 | grep -q 'version "\(2[5-9]\|[3-9][0-9]\)'; }
if [ -z "${JAVA_HOME:-}" ] || ! is_jdk25 "$JAVA_HOME"; then
  JAVA_HOME=""
  for dir in /usr/lib/jvm/*; do
    if is_jdk25 "$dir"; then JAVA_HOME="$dir"; fi
  done
fi
[ -n "$JAVA_HOME" ] || { echo "make-bundle: needs a JDK 25 or newer with jlink; set JAVA_HOME" >&2; exit 1; }
# Maven itself runs on this JDK; Guava inside Maven touches sun.misc.Unsafe, which JDK 25 warns about.
export JAVA_HOME MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"

stage="$root/native-tests/target/frugal-gpu-bundle"
rm -rf "$stage" && mkdir -p "$stage/lib"
cd "$root"

echo "make-bundle: building and installing the modules the GPU tests, benchmarks and CLI need (tests compiled, not run)"
mvn "${mvn_flags[@]}" -DskipTests -pl native-tests,benchmarks,trainer -am install
# The GPU tests' runtime class path: Frugal's jars, the runtime's test jar (CPU reference helpers)
# and JCuda. JUnit's own jars are left out: the console launcher below carries the same versions.
mvn "${mvn_flags[@]}" -pl native-tests dependency:copy-dependencies -DincludeScope=test \
  -DexcludeGroupIds=org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian \
  -DoutputDirectory="$stage/lib"
cp native-tests/target/frugal-native-tests-*-tests.jar "$stage/lib/"
cp benchmarks/target/benchmarks.jar "$stage/"
cp trainer/target/frugal.jar "$stage/"
mvn "${mvn_flags[@]}" dependency:copy \
  -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit_console_version" -DoutputDirectory="$stage"
mv "$stage/junit-platform-console-standalone-$junit_console_version.jar" "$stage/junit-console.jar"

# A small runtime with exactly the modules used: java.base and jdk.incubator.vector (Frugal),
# java.logging and java.management (JUnit, JMH), java.xml (the JUnit XML report), jdk.unsupported
# (JMH, JCuda), jdk.zipfs and java.scripting (JUnit's optional features), jdk.management (JMH's
# GC and thread profilers), java.desktop (the run report's charts), java.net.http (the dataset
# download) and java.sql (Jackson's optional date types): `jdeps --print-module-deps` on
# frugal.jar lists the last three. --strip-debug and compression keep it to a few tens of MB.
"$JAVA_HOME/bin/jlink" \
  --add-modules java.base,java.desktop,java.logging,java.management,java.naming,java.net.http,java.scripting,java.sql,java.xml,jdk.incubator.vector,jdk.management,jdk.unsupported,jdk.zipfs \
  --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output "$stage/jre"

cat > "$stage/run-gpu-tests.sh" <<'RUN'
#!/usr/bin/env bash
# Runs Frugal's `gpu` tests with the bundled Java runtime (no JDK needed) and writes the JUnit XML
# report and the console log under REPORT_DIR (default: ./reports next to this script).
#
#   run-gpu-tests.sh [REPORT_DIR] [more JUnit console launcher options...]
#   e.g. run-gpu-tests.sh /tmp/r --include-classname '.*Cublas.*'
#
# Environment: FRUGAL_CUDA_LIBS (folders holding cuBLAS/cuBLASLt/NVRTC/cuDNN, searched first),
# CUDA_HOME/CUDA_PATH, VIRTUAL_ENV/CONDA_PREFIX, LD_LIBRARY_PATH (library discovery, see
# docs/gpu-tests.md); FRUGAL_TEST_DEVICE (CUDA ordinal under test, default 0; CUDA_VISIBLE_DEVICES
# works too); JAVA_OPTS (extra JVM options, e.g. -Xmx16g).
#
# Exit code: 0 when no test failed (tests skipped for lack of a GPU or a library count as not
# failed; the report says why each was skipped), 1 when a test failed, 2 when no test was found.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
reports="${1:-$here/reports}"
shift $(( $# > 0 ? 1 : 0 ))
mkdir -p "$reports"
class_path="$(ls "$here"/lib/*.jar | tr '\n' ':')"
tests_jar="$(ls "$here"/lib/frugal-native-tests-*-tests.jar)"
{
  echo "frugal GPU tests: $(cat "$here/BUILD-INFO" 2>/dev/null | tr '\n' ' ')"
  echo "host: $(uname -srm); started $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
} | tee "$reports/console.log"
# shellcheck disable=SC2086
"$here/jre/bin/java" --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector -Xmx8g ${JAVA_OPTS:-} \
  -Dfrugal.test.device="${FRUGAL_TEST_DEVICE:-0}" \
  -jar "$here/junit-console.jar" execute \
  --class-path "$class_path" \
  --scan-class-path "$tests_jar" \
  --include-tag gpu \
  --fail-if-no-tests \
  --details=tree --disable-banner --disable-ansi-colors \
  --reports-dir "$reports" \
  "$@" 2>&1 | tee -a "$reports/console.log"
status=${PIPESTATUS[0]}
echo "run-gpu-tests: exit $status; JUnit XML report: $reports/TEST-junit-jupiter.xml; log: $reports/console.log"
exit "$status"
RUN
cat > "$stage/frugal" <<'RUN'
#!/usr/bin/env bash
# The `frugal` command line on the bundled Java runtime: frugal-gpu-bundle/frugal COMMAND [OPTIONS...]
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2086
exec "$here/jre/bin/java" --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector ${FRUGAL_JAVA_OPTS:-} \
  -jar "$here/frugal.jar" "$@"
RUN
cat > "$stage/run-benchmarks.sh" <<'RUN'
#!/usr/bin/env bash
# Runs the JMH benchmarks with the bundled Java runtime: run-benchmarks.sh [JMH ARGS...] (-h for JMH's help).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/jre/bin/java" --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector -jar "$here/benchmarks.jar" "$@"
RUN
chmod +x "$stage/run-gpu-tests.sh" "$stage/run-benchmarks.sh" "$stage/frugal"
{
  echo "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) with $("$JAVA_HOME/bin/java" -version 2>&1 | head -1)"
} > "$stage/BUILD-INFO"

mkdir -p "$out_dir"
tar czf "$out_dir/frugal-gpu-bundle.tar.gz" -C "$(dirname "$stage")" "$(basename "$stage")"
echo "make-bundle: wrote $out_dir/frugal-gpu-bundle.tar.gz ($(du -h "$out_dir/frugal-gpu-bundle.tar.gz" | cut -f1))"
