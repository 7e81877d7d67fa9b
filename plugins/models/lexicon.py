"""Word lists for the story generator in corpus.py (data, kept compact on purpose)."""

# fmt: off
ROYALTY = ["king", "queen", "prince", "princess", "knight", "duke", "duchess", "emperor",
    "empress", "lord", "lady"]
PEOPLE = ["farmer", "baker", "sailor", "doctor", "teacher", "wizard", "witch", "fisherman",
    "painter", "soldier", "merchant", "shepherd", "miller", "blacksmith", "hunter", "poet",
    "singer", "nurse", "pilot", "gardener", "carpenter", "tailor", "cook", "judge", "scientist",
    "student", "girl", "boy", "old man", "old woman", "child", "giant"]
ANIMALS = ["cat", "dog", "fox", "wolf", "bear", "rabbit", "owl", "horse", "mouse", "dragon",
    "lion", "tiger", "elephant", "monkey", "goat", "sheep", "cow", "pig", "duck", "goose", "frog",
    "snake", "turtle", "deer", "squirrel", "hedgehog", "badger", "eagle", "crow", "swan", "whale",
    "dolphin", "shark", "crab", "bee", "ant", "spider", "butterfly", "camel", "zebra", "giraffe",
    "penguin", "parrot", "otter", "beaver", "moose", "bat", "lizard", "donkey", "hen", "rooster",
    "kitten", "puppy", "pony", "unicorn"]
NAMES = ["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Grace", "Henry", "Iris", "Jack",
    "Kate", "Leo", "Mia", "Noah", "Olivia", "Peter", "Rosa", "Sam", "Tom", "Ursula", "Victor",
    "Wendy", "Yusuf", "Zoe", "Alice", "Oscar", "Lucy", "Max", "Nora", "Hugo", "Elena", "Omar",
    "Priya", "Kenji", "Amara", "Lars", "Sofia", "Mateo", "Ingrid", "Tariq", "Mei", "Ravi", "Greta",
    "Pablo", "Hana", "Ivan", "Leila", "Finn", "Ada", "Milo", "Ruth", "Theo", "Vera", "Jonas",
    "Lina", "Arthur", "Bella", "Cyrus", "Dora"]
CITIES = [('Paris', 'France'), ('London', 'England'), ('Rome', 'Italy'), ('Madrid', 'Spain'),
    ('Berlin', 'Germany'), ('Vienna', 'Austria'), ('Lisbon', 'Portugal'), ('Athens', 'Greece'),
    ('Cairo', 'Egypt'), ('Tokyo', 'Japan'), ('Beijing', 'China'), ('Delhi', 'India'),
    ('Moscow', 'Russia'), ('Ottawa', 'Canada'), ('Canberra', 'Australia'), ('Nairobi', 'Kenya'),
    ('Lima', 'Peru'), ('Oslo', 'Norway'), ('Stockholm', 'Sweden'), ('Helsinki', 'Finland'),
    ('Dublin', 'Ireland'), ('Warsaw', 'Poland'), ('Prague', 'Czechia'), ('Budapest', 'Hungary'),
    ('Bern', 'Switzerland'), ('Brussels', 'Belgium'), ('Amsterdam', 'the Netherlands'),
    ('Copenhagen', 'Denmark'), ('Ankara', 'Turkey'), ('Tehran', 'Iran'), ('Baghdad', 'Iraq'),
    ('Seoul', 'Korea'), ('Hanoi', 'Vietnam'), ('Bangkok', 'Thailand'), ('Jakarta', 'Indonesia'),
    ('Manila', 'the Philippines'), ('Mexico City', 'Mexico'), ('Havana', 'Cuba'),
    ('Santiago', 'Chile'), ('Buenos Aires', 'Argentina'), ('Bogota', 'Colombia'),
    ('Caracas', 'Venezuela'), ('Rabat', 'Morocco'), ('Tunis', 'Tunisia'), ('Accra', 'Ghana'),
    ('Dakar', 'Senegal'), ('Reykjavik', 'Iceland'), ('Kyiv', 'Ukraine'), ('Bucharest', 'Romania'),
    ('Sofia', 'Bulgaria'), ('Belgrade', 'Serbia'), ('Zagreb', 'Croatia')]
TOWNS = ["Florence", "Venice", "Milan", "Naples", "Lyon", "Marseille", "Munich", "Hamburg",
    "Barcelona", "Seville", "Porto", "Kyoto", "Osaka", "Shanghai", "Mumbai", "Sydney", "Toronto",
    "Chicago", "Boston", "Edinburgh", "Manchester", "Geneva", "Zurich"]
COLOURS = ["red", "blue", "green", "yellow", "orange", "purple", "pink", "brown", "black", "white",
    "grey", "gold", "silver", "violet", "crimson", "scarlet", "turquoise", "indigo", "amber",
    "ivory"]
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty"]
PLACES = ["forest", "river", "mountain", "village", "castle", "garden", "market", "harbour",
    "valley", "island", "desert", "lake", "meadow", "cave", "tower", "bridge", "farm", "library",
    "school", "palace", "field", "beach", "swamp", "hill", "orchard", "kitchen", "cellar",
    "chapel", "mill", "station", "square", "inn", "workshop"]
OBJECTS = ["teapot", "saddle", "anchor", "hammer", "needle", "whistle", "trumpet", "harp",
    "goblet", "helmet", "shield", "banner", "torch", "paddle", "sack", "chest", "diary",
    "painting", "statue", "medal", "necklace", "bracelet", "puzzle", "marble", "crayon",
    "envelope", "ticket", "carpet", "pillow", "kettle", "bucket", "shovel", "apple", "book", "key",
    "ring", "crown", "sword", "lamp", "map", "boat", "coin", "letter", "basket", "cloak", "hat",
    "shoe", "stone", "feather", "bell", "mirror", "box", "flute", "drum", "kite", "ball", "cup",
    "spoon", "candle", "blanket", "rope", "ladder", "wheel", "clock", "shell", "pearl", "seed",
    "flower", "loaf", "cake", "pie", "jar", "bottle", "pencil", "brush", "violin", "umbrella",
    "scarf", "glove", "egg", "honey", "cheese", "pear", "plum", "cherry", "lemon", "carrot",
    "potato", "onion", "tomato", "bean", "rose", "tulip", "daisy", "acorn", "pinecone", "compass",
    "lantern"]
ADJECTIVES = ["cunning", "graceful", "clumsy", "stubborn", "merry", "gloomy", "daring", "timid",
    "restless", "thoughtful", "mischievous", "loyal", "jolly", "solemn", "small", "big", "old",
    "young", "brave", "clever", "kind", "shy", "proud", "lazy", "quick", "slow", "happy", "sad",
    "angry", "gentle", "wise", "foolish", "hungry", "tired", "curious", "lonely", "cheerful",
    "grumpy", "quiet", "noisy", "strong", "weak", "rich", "poor", "honest", "sleepy", "careful",
    "bold", "friendly", "strange", "famous", "humble", "patient", "worried", "generous", "greedy",
    "tiny", "huge", "ancient", "bright", "dark", "silly", "polite", "fierce"]
THING_ADJECTIVES = ["shiny", "broken", "heavy", "light", "soft", "hard", "warm", "cold", "wet",
    "dry", "sweet", "sour", "round", "sharp", "smooth", "rough", "new", "dusty", "golden",
    "wooden", "magic", "secret", "precious", "lost", "empty"]
FEELINGS = ["happy", "sad", "afraid", "surprised", "proud", "angry", "calm", "excited", "nervous",
    "grateful", "jealous", "hopeful", "ashamed", "relieved", "confused"]
WEATHER = ["it was raining", "the sun was shining", "snow was falling", "a storm was coming",
    "the wind was blowing", "fog covered the hills", "the sky was clear",
    "thunder rolled in the distance", "it was very hot", "the night was cold"]
TIMES = ["One morning", "One evening", "Long ago", "Once upon a time", "Last summer",
    "In the spring", "On a winter night", "Early one day", "At midnight", "Years later",
    "The next day", "After a while", "That afternoon", "Before dawn", "On Sunday"]
# (present, past, past participle) of things a character can do with an object
VERBS = [('find', 'found', 'found'), ('lose', 'lost', 'lost'), ('carry', 'carried', 'carried'),
    ('hide', 'hid', 'hidden'), ('buy', 'bought', 'bought'), ('sell', 'sold', 'sold'),
    ('give', 'gave', 'given'), ('take', 'took', 'taken'), ('make', 'made', 'made'),
    ('break', 'broke', 'broken'), ('paint', 'painted', 'painted'), ('clean', 'cleaned', 'cleaned'),
    ('open', 'opened', 'opened'), ('drop', 'dropped', 'dropped'), ('steal', 'stole', 'stolen'),
    ('keep', 'kept', 'kept'), ('share', 'shared', 'shared'), ('mend', 'mended', 'mended'),
    ('wrap', 'wrapped', 'wrapped'), ('throw', 'threw', 'thrown'), ('see', 'saw', 'seen'),
    ('draw', 'drew', 'drawn'), ('polish', 'polished', 'polished'),
    ('borrow', 'borrowed', 'borrowed'), ('bury', 'buried', 'buried')]
MOVES = [('walk', 'walked'), ('run', 'ran'), ('travel', 'travelled'), ('sail', 'sailed'),
    ('ride', 'rode'), ('fly', 'flew'), ('swim', 'swam'), ('climb', 'climbed'),
    ('wander', 'wandered'), ('hurry', 'hurried'), ('march', 'marched'), ('drive', 'drove')]
ACTS = [('sing', 'sang'), ('dance', 'danced'), ('laugh', 'laughed'), ('cry', 'cried'),
    ('sleep', 'slept'), ('read', 'read'), ('write', 'wrote'), ('cook', 'cooked'),
    ('work', 'worked'), ('play', 'played'), ('pray', 'prayed'), ('wait', 'waited'),
    ('listen', 'listened'), ('think', 'thought'), ('dream', 'dreamed'), ('rest', 'rested')]
DRINKS = ["milk", "tea", "water", "lemonade", "cocoa", "juice", "coffee", "cider"]
FOODS = ["dumplings", "plums", "biscuits", "stew", "oranges", "toast", "jam", "pie", "bread",
    "soup", "rice", "fish", "cheese", "apples", "honey", "porridge", "berries", "noodles",
    "carrots", "eggs", "cake", "nuts", "grapes", "pancakes"]
ANIMAL_FACTS = [('spider', 'eight legs'), ('insect', 'six legs'), ('bird', 'two wings'),
    ('dog', 'four legs'), ('fish', 'gills'), ('elephant', 'a long trunk'),
    ('giraffe', 'a long neck'), ('camel', 'a hump'), ('zebra', 'black and white stripes'),
    ('tiger', 'orange fur with black stripes'), ('owl', 'big eyes'), ('rabbit', 'long ears'),
    ('turtle', 'a hard shell'), ('bee', 'a sting'), ('whale', 'a blowhole'),
    ('penguin', 'black and white feathers')]
COLOUR_MIXES = [('red', 'yellow', 'orange'), ('blue', 'yellow', 'green'),
    ('red', 'blue', 'purple'), ('red', 'white', 'pink'), ('black', 'white', 'grey')]
SAYINGS = ["Be kind to everyone you meet", "Never give up", "A friend in need is a friend indeed",
    "Slow and steady wins the race", "Look before you leap", "Honesty is the best policy",
    "Every cloud has a silver lining", "Practice makes perfect", "There is no place like home",
    "Many hands make light work"]
# fmt: on
