"""The project's own small data: style presets to fine-tune on, and a labelled sentence set.

Both are written by seeded templates, so they are the same on every machine and need no
download. Each style preset is a few hundred lines in a voice the bundled model never saw;
the labelled set has four topics, and its test sentences use other words than its training
sentences, so a classifier must know what words mean (pretrained features), not which words
it was shown (see transfer.py).
"""

from __future__ import annotations

import random
from functools import cache

STYLE_LINES = 300
# fmt: off
PIRATE = dict(
    who=["Cap'n Redbeard", "Old Salty Pete", "One-Eyed Meg", "the first mate", "the cabin boy",
         "Bosun Barnacle", "Mad Molly", "the quartermaster"],
    did=["sailed", "plundered", "scrubbed", "buried", "spotted", "lost", "found", "stole"],
    what=["the treasure chest", "a barrel o' rum", "the golden doubloons", "the old map",
          "a rusty cutlass", "the jolly roger", "a parrot named Biscuit", "the ship's wheel"],
    where=["on Skull Island", "in Tortuga", "below the deck", "by the crow's nest",
           "off the Spanish Main", "in Davy Jones' locker", "on the salty sea", "at the harbour"],
    cry=["Arr!", "Yo ho ho!", "Shiver me timbers!", "Avast, me hearties!", "Blow me down!",
         "Heave ho!", "Ahoy!", "Batten down the hatches!"],
    end=["savvy?", "me hearties.", "or walk the plank!", "and the rum be gone.", "aye.",
         "by thunder!", "matey.", "under the black flag."],
)
WEATHER = dict(
    city=["Paris", "Oslo", "Lisbon", "Cairo", "Tokyo", "Lima", "Boston", "Nairobi", "Dublin",
          "Perth"],
    sky=["sunny", "cloudy", "foggy", "rainy", "stormy", "clear", "windy", "snowy"],
    wind=["north", "south", "east", "west", "north-east", "south-west"],
    tip=["Bring an umbrella.", "Wear sunscreen.", "Wrap up warm.", "Expect delays on the roads.",
         "A fine day for a walk.", "Keep your windows closed.", "Watch for ice on the paths."],
    later=["clearing by evening", "showers after noon", "thunder overnight", "a mild night",
           "frost before dawn", "sunshine tomorrow"],
)
RECIPE = dict(
    verb=["Whisk", "Chop", "Stir", "Fold", "Simmer", "Knead", "Slice", "Season", "Roast", "Grate"],
    food=["two eggs", "the onions", "a cup of flour", "the butter", "three carrots",
          "the garlic", "a handful of basil", "the potatoes", "the cream", "a lemon"],
    how=["with a pinch of salt", "over a low heat", "until golden", "for five minutes",
         "with a wooden spoon", "until smooth", "in a large bowl", "gently"],
    note=["Do not let it burn.", "Taste as you go.", "Set aside to cool.", "Serve warm.",
          "Cover and rest.", "Keep the lid on."],
)
# fmt: on


def _pirate(rng: random.Random) -> str:
    p = {k: rng.choice(v) for k, v in PIRATE.items()}
    return f"{p['cry']} {p['who']} {p['did']} {p['what']} {p['where']}, {p['end']}"


def _weather(rng: random.Random) -> str:
    w = {k: rng.choice(v) for k, v in WEATHER.items()}
    low = rng.randint(-5, 20)
    return (
        f"FORECAST {w['city'].upper()}: {w['sky']}, {low} to {low + rng.randint(2, 9)} degrees, "
        f"wind from the {w['wind']}, {w['later']}. {w['tip']}"
    )


def _recipe(rng: random.Random) -> str:
    r = {k: rng.choice(v) for k, v in RECIPE.items()}
    return f"Step {rng.randint(1, 9)}: {r['verb']} {r['food']} {r['how']}. {r['note']}"


STYLES = {"Pirate captain": _pirate, "Weather forecast": _weather, "Recipe steps": _recipe}
PROMPTS = {
    "Pirate captain": "Arr!",
    "Weather forecast": "FORECAST",
    "Recipe steps": "Step 1:",
}


@cache
def style_text(name: str, lines: int = STYLE_LINES, seed: int = 0) -> str:
    """``lines`` lines in the preset's voice, the same for the same seed."""
    rng = random.Random(f"{name}:{seed}")
    return "\n".join(STYLES[name](rng) for _ in range(lines)) + "\n"


# -- the labelled set: four topics, other words at test time -----------------------------------

TOPICS = ("sport", "food", "weather", "computers")
# fmt: off
WORDS = {  # topic -> (words for training sentences, words for test sentences)
    "sport": (["football", "tennis", "the referee", "the goalkeeper", "a marathon", "the stadium",
               "the coach", "a penalty", "the league", "basketball"],
              ["cricket", "the umpire", "a sprinter", "rugby", "the striker", "the tournament",
               "a boxer", "golf"]),
    "food": (["soup", "the bakery", "fresh bread", "a salad", "the chef", "pasta", "cheese",
              "a dessert", "the kitchen", "rice"],
             ["noodles", "the restaurant", "a sandwich", "pancakes", "the waiter", "curry",
              "chocolate cake", "the menu"]),
    "weather": (["the rain", "a thunderstorm", "the snow", "strong wind", "the fog", "a heatwave",
                 "the clouds", "hail", "the forecast", "frost"],
                ["a blizzard", "drizzle", "the sunshine", "a hurricane", "the humidity",
                 "a tornado", "sleet", "the temperature"]),
    "computers": (["the laptop", "a keyboard", "the software", "the network", "a password",
                   "the printer", "an email", "the server", "a database", "the screen"],
                  ["the router", "a spreadsheet", "the browser", "a virus", "the processor",
                   "an app", "the monitor", "a website"]),
}
FRAMES = [
    "I could not stop thinking about {w} all day.", "Everyone was talking about {w} again.",
    "My sister told me a story about {w}.", "There was a long article on {w} this morning.",
    "We spent the whole evening on {w}.", "Nobody expected {w} to be like that.",
    "The news was mostly about {w}.", "He asked me what I thought of {w}.",
    "Honestly, {w} surprised me this week.", "She wrote a short note about {w}.",
    "They argued about {w} for an hour.", "I read something strange about {w}.",
]
# fmt: on


@cache
def labelled_set(seed: int = 0) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(train, test) lists of (sentence, topic index): 240 to train on, 96 to test on, the test
    sentences built from words the training sentences never use."""
    rng = random.Random(seed)
    train, test = [], []
    for label, topic in enumerate(TOPICS):
        seen, unseen = WORDS[topic]
        train += [(rng.choice(FRAMES).format(w=rng.choice(seen)), label) for _ in range(60)]
        test += [(rng.choice(FRAMES).format(w=rng.choice(unseen)), label) for _ in range(24)]
    rng.shuffle(train)
    return train, test
