package dev.frugal.trainer.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import java.nio.file.Path;

/** The one Jackson configuration of the run directory's files; not part of the API. */
final class RunJson {
    /**
     * Paths as plain strings (Jackson's default is a {@code file://} URI, which nobody types into
     * {@code --data}); NaN and infinities as the strings Jackson writes by default, so every line
     * stays standard JSON even when the loss diverged.
     */
    static final ObjectMapper MAPPER = new ObjectMapper()
        .registerModule(new SimpleModule("frugal-run").addSerializer(Path.class, ToStringSerializer.instance))
        .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    private RunJson() {
    }
}
