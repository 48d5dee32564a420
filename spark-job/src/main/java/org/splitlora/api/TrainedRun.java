package org.splitlora.api;

import java.util.Map;

/**
 * A finished run: its directory (qualified), the rounds it has, and the whole model's adapters
 * after the last round (our names, {@code layers.L.TARGET.lora_A|B}; the PEFT files are in
 * {@code location/adapter/}).
 */
public record TrainedRun(String location, int rounds, Map<String, float[]> adapters) {}
