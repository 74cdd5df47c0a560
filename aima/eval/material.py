"""What generated cases are made of: faces, photos, phrases, sentences and voices.

Faces are the astronaut photo and faces of scikit-image's ``lfw_subset`` that tests/vision/
facegen.py hand-checked as distinct people; backgrounds and originals are scikit-image photos
without faces or text (tests/triage/photos.py); sentences have no digits or names, so that each
has one spelling. The test helper tests/speech/speechgen.py takes its two English voices and the
start of its dialogue from here (an installed package may not import tests/).
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image, ImageEnhance, ImageOps

FACE_IDS = ("astronaut", "lfw-1", "lfw-7", "lfw-31", "lfw-45", "lfw-46")
#: face-free scikit-image photos: backgrounds of face photos and video scenes
BACKGROUNDS = ("rocket", "chelsea", "brick", "grass", "horse", "gravel")
#: other scikit-image photos (no face, no text): originals of near-duplicates
ORIGINALS = ("coffee", "hubble_deep_field", "coins", "moon", "retina", "immunohistochemistry",
             "cell", "clock")
TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {  # tests/triage/photos.py
    "resized to half": lambda im: im.resize((im.width // 2, im.height // 2),
                                            Image.Resampling.LANCZOS),
    "JPEG quality 30": lambda im: im,  # the copy is saved at quality 30
    "10 % cropped": lambda im: im.crop((im.width // 20, im.height // 20,
                                        im.width - im.width // 20, im.height - im.height // 20)),
    "30 % brighter": lambda im: ImageEnhance.Brightness(im).enhance(1.3),
    "30 % darker": lambda im: ImageEnhance.Brightness(im).enhance(0.7),
    "mirrored": ImageOps.mirror,
}
PHRASES = ("NORTH GATE 7", "NO ENTRY AFTER 10 PM", "LOADING BAY B", "STAFF ONLY",
           "HARBOUR OFFICE", "EXIT TO PLATFORM 3", "KEEP THIS DOOR CLOSED", "CAMERA 12 WEST")
#: two English voices in turn: a male American voice and a female variant, whose window
#: embeddings lie 0.5 cosine apart (tests/speech/test_voices.py)
VOICE_A, VOICE_B = "en-us", "en-us+f3"
DIALOGUE = (
    "Good morning, thank you for coming in today.",
    "Thank you for having me, I was glad to help.",
    "Can you tell me where you were last night?",
    "I was at home with my sister until midnight.",
    "Did anyone else see you there at that time?",
    "Our neighbour stopped by to return a ladder.",
    "What time did the neighbour leave the house?",
    "I think he left a little after ten o'clock.",
)
#: language -> (espeak-ng voice, sentences without digits or names: one spelling each)
MONOLOGUES = {
    "de": ("de+m3", ("Der Zug nach Hamburg fährt heute später ab.",
                     "Bitte schließen Sie die Tür hinter sich.",
                     "Wir treffen uns morgen früh am Bahnhof.")),
    "fr": ("fr+f2", ("Le train pour la ville part plus tard aujourd'hui.",
                     "Fermez la porte derrière vous, s'il vous plaît.",
                     "Nous nous retrouvons demain matin à la gare.")),
    "es": ("es+m5", ("El tren a la ciudad sale más tarde hoy.",
                     "Por favor, cierre la puerta al salir.",
                     "Nos vemos mañana por la mañana en la estación.")),
    "en": (VOICE_B, ("The weather will be sunny and warm this week.",
                     "We need more paper for the printer.",
                     "The bus stops in front of the library.")),
}
#: pytest-audioeval clips (Kokoro voices) of the neural conversation: (voice, clip)
NEURAL_TURNS = (("siwis", "fr/bonjour_monde"), ("sara", "it/ciao_mondo"),
                ("siwis", "fr/pangrama"), ("sara", "it/pangrama"))
