/**
 * Learning-rate schedules: pure functions from the optimizer step (counted from 0) to the
 * learning rate. {@link dev.frugal.trainer.schedule.LrSchedules#parse} turns a {@code --schedule}
 * spec into one; every schedule's sequence is checked against PyTorch's scheduler of the same
 * kind.
 */
package dev.frugal.trainer.schedule;
