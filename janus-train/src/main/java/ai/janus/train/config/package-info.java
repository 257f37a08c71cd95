/** Run configuration: YAML files with axolotl-like keys, validated with file:line errors. */
package ai.janus.train.config;
