package dev.frugal.runtime.graph;

/** What a graph {@link Op#INPUT} holds, which decides how the executor binds it. */
public enum InputKind {
    /** Fed anew for every run (a batch, labels, the RNG counter). */
    DATA,
    /** A trainable weight, bound once and updated in place by {@link Op#ASSIGN}. */
    PARAMETER,
    /** Non-trainable persistent state (batch-norm running statistics, optimizer moments, step counters). */
    STATE
}
