package dev.frugal.trainer.budget;

/**
 * What a run has spent so far (resumed parts included).
 *
 * @param wallSeconds   wall-clock seconds of training
 * @param deviceSeconds device compute seconds: on the CPU, the process's CPU time
 * @param energyJoules  energy drawn
 * @param samples       training samples seen
 * @param peakHostBytes the process's peak resident memory, -1 when unknown
 * @param hostBytes     the process's resident memory now, -1 when unknown
 */
public record Usage(double wallSeconds, double deviceSeconds, double energyJoules, long samples, long peakHostBytes, long hostBytes) {
}
