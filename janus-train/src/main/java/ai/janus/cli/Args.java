package ai.janus.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A command's arguments: {@code --name value} options, {@code --flag}s and positionals, checked
 * against what the command declares; anything else is a usage error naming it.
 */
final class Args {
    private final Map<String, String> options = new LinkedHashMap<>();
    private final List<String> positionals = new ArrayList<>();
    private final boolean help;

    /**
     * @param valued options that take a value
     * @param flags  options that take none; a flag may also take an optional value written as --flag=value
     */
    Args(List<String> args, Set<String> valued, Set<String> flags) throws Janus.UsageException {
        boolean wantsHelp = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--help") || a.equals("-h")) {
                wantsHelp = true;
            } else if (a.startsWith("--")) {
                int eq = a.indexOf('=');
                String name = eq < 0 ? a : a.substring(0, eq);
                if (flags.contains(name)) {
                    options.put(name, eq < 0 ? "" : a.substring(eq + 1));
                } else if (valued.contains(name)) {
                    options.put(name, eq >= 0 ? a.substring(eq + 1) : Janus.value(args, ++i, name));
                } else {
                    throw new Janus.UsageException("unknown option '" + name + "'");
                }
            } else {
                positionals.add(a);
            }
        }
        this.help = wantsHelp;
    }

    boolean help() {
        return help;
    }

    boolean has(String name) {
        return options.containsKey(name);
    }

    String get(String name, String absent) {
        return options.getOrDefault(name, absent);
    }

    String require(String name) throws Janus.UsageException {
        String v = options.get(name);
        if (v == null) {
            throw new Janus.UsageException("missing " + name);
        }
        return v;
    }

    long getLong(String name, long absent) throws Janus.UsageException {
        return has(name) ? Janus.parseLong(options.get(name), name) : absent;
    }

    /**
     * An int option: read as a 64-bit value and refused outside [min, max], never wrapped
     * (4294967297 would otherwise become 1).
     */
    int getInt(String name, int absent, int min, int max) throws Janus.UsageException {
        long v = getLong(name, absent);
        if (v < min || v > max) {
            throw new Janus.UsageException(name + " must be an integer in [" + min + ", " + max + "], got "
                    + options.get(name));
        }
        return (int) v;
    }

    double getDouble(String name, double absent) throws Janus.UsageException {
        if (!has(name)) {
            return absent;
        }
        try {
            return Double.parseDouble(options.get(name));
        } catch (NumberFormatException e) {
            throw new Janus.UsageException(name + " expects a number, got '" + options.get(name) + "'");
        }
    }

    List<String> positionals() {
        return positionals;
    }

    /** Exactly {@code n} positionals, named in the error when they are not there. */
    List<String> positionals(int n, String what) throws Janus.UsageException {
        if (positionals.size() != n) {
            throw new Janus.UsageException("expected " + what + ", got " + positionals.size() + " arguments");
        }
        return positionals;
    }
}
