package ai.janus.demo;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What an instruction is about: a goal ("sleep better") and the ordered advice items a gold
 * answer draws from. Every item is exactly {@value #ITEM_WORDS} words and names its {@code key}, a
 * word no other item of the topic uses: the key is what an "avoid the word …" preference forbids,
 * and the fixed item length is what keeps every brief gold answer within the word limit and every
 * detailed one above it.
 */
public record Topic(String goal, List<Item> items) {
    /** Words per item text. */
    public static final int ITEM_WORDS = 4;
    /** Items a topic needs: a detailed answer's five plus one to replace an item that holds a forbidden word. */
    public static final int ITEMS = 6;

    /** One piece of advice: lower-case text ("keep a fixed bedtime") and the key word it names ("bedtime"). */
    public record Item(String key, String text) {
        public Item {
            String[] words = text.split(" ");
            if (words.length != ITEM_WORDS || !text.equals(text.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("an item is " + ITEM_WORDS + " lower-case words, got '" + text + "'");
            }
            if (!List.of(words).contains(key)) {
                throw new IllegalArgumentException("item '" + text + "' does not contain its key '" + key + "'");
            }
        }
    }

    public Topic {
        items = List.copyOf(items);
        if (items.size() != ITEMS) {
            throw new IllegalArgumentException("topic '" + goal + "' needs " + ITEMS + " items, got " + items.size());
        }
        Set<String> keys = new HashSet<>();
        for (Item item : items) {
            if (!keys.add(item.key())) {
                throw new IllegalArgumentException("topic '" + goal + "' repeats the key '" + item.key() + "'");
            }
            for (Item other : items) {
                if (other != item && List.of(other.text().split(" ")).contains(item.key())) {
                    throw new IllegalArgumentException("topic '" + goal + "': key '" + item.key()
                            + "' also appears in '" + other.text() + "'");
                }
            }
        }
    }

    /** The demo's topics: sixteen everyday goals with six items each. */
    public static final List<Topic> ALL = List.of(
            topic("sleep better", "bedtime", "keep a fixed bedtime", "screens", "put screens away early",
                    "coffee", "skip coffee after lunch", "lights", "dim the evening lights",
                    "naps", "keep your naps short", "pillow", "buy a comfortable pillow"),
            topic("save money", "budget", "set a monthly budget", "meals", "cook meals at home",
                    "spending", "track all your spending", "subscriptions", "cancel unused subscriptions today",
                    "list", "shop with a list", "transfers", "automate your savings transfers"),
            topic("stay fit", "walk", "take a daily walk", "water", "drink plenty of water",
                    "stairs", "use the stairs often", "stretching", "do some stretching daily",
                    "weights", "lift light weights weekly", "sleep", "get enough sleep nightly"),
            topic("learn a new language", "words", "learn ten words daily", "podcasts", "listen to podcasts often",
                    "partner", "find a speaking partner", "flashcards", "review your flashcards often",
                    "songs", "sing along to songs", "diary", "keep a short diary"),
            topic("study for exams", "schedule", "make a study schedule", "breaks", "take short breaks often",
                    "notes", "rewrite your notes clearly", "tests", "try old practice tests",
                    "phone", "silence your phone completely", "friends", "quiz yourself with friends"),
            topic("keep plants alive", "sunlight", "give them enough sunlight", "soil", "check the soil moisture",
                    "pots", "use pots with holes", "leaves", "wipe dust off leaves",
                    "fertilizer", "add fertilizer in spring", "drafts", "keep them from drafts"),
            topic("cook healthy meals", "vegetables", "fill half with vegetables", "salt", "use less salt overall",
                    "grains", "choose whole grains instead", "oil", "use olive oil sparingly",
                    "portion", "watch your portion sizes", "fruit", "keep fresh fruit nearby"),
            topic("work from home", "desk", "set up a desk", "hours", "keep regular work hours",
                    "breaks", "step outside for breaks", "dressed", "get dressed each morning",
                    "calls", "batch your video calls", "chair", "buy a good chair"),
            topic("travel light", "bag", "pack a single bag", "shoes", "wear your bulkiest shoes",
                    "layers", "plan outfits in layers", "toiletries", "use travel size toiletries",
                    "laundry", "plan a laundry stop", "cubes", "use packing cubes wisely"),
            topic("write clearly", "sentences", "keep your sentences short", "verbs", "use strong active verbs",
                    "jargon", "cut jargon and filler", "outline", "start with an outline",
                    "draft", "read your draft aloud", "reader", "know your reader well"),
            topic("reduce stress", "breathing", "try slow deep breathing", "nature", "take walks in nature",
                    "journal", "write in a journal", "news", "limit news each day",
                    "music", "listen to calm music", "friend", "call a close friend"),
            topic("clean the house", "room", "clean one room daily", "clutter", "clear clutter every week",
                    "timer", "set a short timer", "dust", "dust from top down",
                    "supplies", "keep supplies close by", "dishes", "wash dishes right away"),
            topic("run a meeting", "agenda", "share an agenda early", "time", "stick to the time",
                    "notes", "take notes for everyone", "goal", "state the goal first",
                    "actions", "list clear next actions", "invite", "invite only needed people"),
            topic("care for a dog", "walk", "walk it twice daily", "vet", "visit the vet yearly",
                    "water", "leave fresh water out", "teeth", "brush its teeth weekly",
                    "toys", "rotate its chew toys", "treats", "use treats for training"),
            topic("start a garden", "spot", "pick a sunny spot", "seeds", "start with easy seeds",
                    "compost", "mix compost into soil", "water", "water early each morning",
                    "weeds", "pull weeds every week", "mulch", "spread mulch around plants"),
            topic("drive calmly", "mirrors", "check your mirrors often", "phone", "put the phone away",
                    "gap", "leave a long gap", "speed", "respect the speed limit",
                    "rest", "rest on long trips", "seatbelt", "always wear a seatbelt"));

    private static Topic topic(String goal, String... keysAndTexts) {
        Item[] items = new Item[keysAndTexts.length / 2];
        for (int i = 0; i < items.length; i++) {
            items[i] = new Item(keysAndTexts[2 * i], keysAndTexts[2 * i + 1]);
        }
        return new Topic(goal, List.of(items));
    }
}
