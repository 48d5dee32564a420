# Sourced by the launcher and the submit-scripts: the JVM options each Spark line needs on Java 17+
# (see DJL-NOTES), as its own launcher's JavaModuleOptions lists them. The pom's
# spark3.java.options and spark4.java.options are the same lists (SubmitScriptsTest checks).
# the java.base packages both lines open
java_base_opens="--add-opens=java.base/java.lang=ALL-UNNAMED \
--add-opens=java.base/java.lang.invoke=ALL-UNNAMED \
--add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
--add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED \
--add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED \
--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
--add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED \
--add-opens=java.base/sun.util.calendar=ALL-UNNAMED"
spark3_java_options="$java_base_opens -Djdk.reflect.useDirectMethodHandle=false"
spark4_java_options="-XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector $java_base_opens \
--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED \
-Dio.netty.tryReflectionSetAccessible=true -Dio.netty.allocator.type=pooled \
-Dio.netty.handler.ssl.defaultEndpointVerificationAlgorithm=NONE \
--sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED"
# spark-submit (Spark 3.3 and later) adds its own version's list to the driver's and the
# executors' options; the submit-scripts pass the Spark 3.5 one as well, which Spark 4 takes too.
submit_java_options="$spark3_java_options"

# The list for a plain java launch on the Spark jars in directory $1 (the launcher's target/lib).
java_options_for_spark_jars() {
  if compgen -G "$1/spark-core_2.13-4.*.jar" >/dev/null; then
    echo "$spark4_java_options"
  else
    echo "$spark3_java_options"
  fi
}
