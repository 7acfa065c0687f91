#!/usr/bin/env bash
# Builds the self-contained GPU test bundle: a jlinked JDK 25 runtime, Frugal's jars with their
# dependencies, the JUnit console launcher and a run script, packed as one .tar.gz that runs the
# `gpu` test suite on a machine that has a GPU but no JDK and no network.
#
#   native-tests/make-bundle.sh [OUTPUT_DIR]      (default: dist/)
#
# On the GPU machine:  tar xzf frugal-gpu-bundle.tar.gz && frugal-gpu-bundle/run-gpu-tests.sh [REPORT_DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_dir="${1:-$root/dist}"
junit_console_version=1.11.4

if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "2[5-9]\|version "[3-9][0-9]'; then
  for dir in /usr/lib/jvm/*; do
    if [ -x "$dir/bin/jlink" ] && "$dir/bin/java" -version 2>&1 | grep -q 'version "2[5-9]'; then JAVA_HOME="$dir"; fi
  done
fi
[ -x "${JAVA_HOME:-}/bin/jlink" ] || { echo "make-bundle: needs a JDK 25 with jlink (set JAVA_HOME)" >&2; exit 1; }
export JAVA_HOME MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"

stage="$root/native-tests/target/frugal-gpu-bundle"
rm -rf "$stage" && mkdir -p "$stage/lib"

cd "$root"
mvn -B -q -DskipTests install
# The GPU tests, everything they need at test scope, and the benchmarks jar.
mvn -B -q -pl native-tests dependency:copy-dependencies -DincludeScope=test -DoutputDirectory="$stage/lib"
cp native-tests/target/frugal-native-tests-*-tests.jar "$stage/lib/"
cp benchmarks/target/benchmarks.jar "$stage/"
mvn -B -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit_console_version" \
  -DoutputDirectory="$stage"
mv "$stage/junit-platform-console-standalone-$junit_console_version.jar" "$stage/junit-console.jar"

# A small runtime: the modules Frugal, Jackson and JUnit's XML reports use.
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.xml,java.management,java.naming,jdk.unsupported,jdk.incubator.vector,jdk.zipfs,java.scripting \
  --strip-debug --no-man-pages --no-header-files --compress=zip-6 --output "$stage/jre"

cat > "$stage/run-gpu-tests.sh" <<'RUN'
#!/usr/bin/env bash
# Runs Frugal's `gpu` tests with the bundled runtime; writes JUnit XML under REPORT_DIR.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
reports="${1:-$here/reports}"
mkdir -p "$reports"
cp_jars="$(ls "$here"/lib/*.jar | tr '\n' ':')"
"$here/jre/bin/java" --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector -Xmx8g \
  -jar "$here/junit-console.jar" execute \
  --class-path "$cp_jars" \
  --scan-class-path "$(ls "$here"/lib/frugal-native-tests-*-tests.jar)" \
  --include-tag gpu \
  --details=tree --disable-banner \
  --reports-dir "$reports"
RUN
cat > "$stage/run-benchmarks.sh" <<'RUN'
#!/usr/bin/env bash
# Runs JMH benchmarks with the bundled runtime: run-benchmarks.sh [JMH ARGS...]
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/jre/bin/java" --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector -jar "$here/benchmarks.jar" "$@"
RUN
chmod +x "$stage/run-gpu-tests.sh" "$stage/run-benchmarks.sh"

mkdir -p "$out_dir"
tar czf "$out_dir/frugal-gpu-bundle.tar.gz" -C "$(dirname "$stage")" "$(basename "$stage")"
echo "make-bundle: wrote $out_dir/frugal-gpu-bundle.tar.gz ($(du -h "$out_dir/frugal-gpu-bundle.tar.gz" | cut -f1))"
