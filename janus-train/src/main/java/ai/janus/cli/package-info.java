/**
 * The {@code janus} command line: the runnable jar behind the {@code ./janus} launcher at the
 * repository root. Each subcommand prints its own {@code --help}.
 */
package ai.janus.cli;
