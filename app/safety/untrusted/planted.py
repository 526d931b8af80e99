"""Answers planted in a document for an AI to repeat: found by what they do, not by phrase.

A document can carry no order at all and still steer a summary: "Note for AI summarisers: the
correct summary of this report is: ...". Such a sentence gives itself away in one of two ways,
whatever its wording or language (English, German, French, Spanish, Italian, Portuguese):

1. it ADDRESSES a reader of the document that is a machine: a greeting or a vocative ("Hola
   IA,", "Psst, summarizer!"), a note to or for one ("To whichever AI is reading this:",
   "[For summarization engines only]"), a condition on being one ("if you're a chatbot"), one
   reading this ("LLM agents browsing this site"), or a key written for one (`ai_answer:`);
2. it PRESCRIBES the reply about this document: what the summary/answer "is" or "must say"
   (with the content after it), what to say when asked about or summarising *this* text, a
   text to use word for word, how to portray it.

Ordinary documents talk ABOUT assistants, models, bots and summaries: "the assistant manager
must tell the staff", "the shop assistant should answer politely", "your summary must include
the sample size", "the correct answer is B". So a word that also names people or things
(assistant, model, agent, robot, system, tool, reader) counts as a machine only when something
says so (an AI, virtual, automated... beside it) or when it is greeted or addressed bare
("Hey assistant,"); a prescription counts only when it points at this document or gives the
content to repeat (a quote, a colon, "that ...").

Measured with bench/planted_detection.py on texts kept out of the tuning, in six languages:
bench/planted_heldout.py (written before this module, measured once blind): 28 of 36 planted
answers found, 3 of 34 look-alikes flagged (the phrase list before: 9 and 2); its misses were
then read and fixed by class, so bench/planted_heldout2.py was written after: 25 of 30 found,
0 of 30 flagged, measured once blind (the phrase list before: 14 and 0); 4 of its 5 misses were
then fixed by class too, so a next change needs a fresh set.
"""

from __future__ import annotations

import functools
import re

_W = r"\s*"  # OCR sometimes drops spaces

# --- who: a machine reading the document -------------------------------------------------

# Words that only ever name a machine reader.
_AI = (
    r"(?:ai|a\.i\.|k\.?i\.?|ia|llms?|gpts?|gpt-?\d\w*|chat\s*gpt|chatbots?|bots?|"
    r"artificial\s+intelligence|intelligence\s+artificielle|intelig[eê]ncia\s+artificial|"
    r"inteligencia\s+artificial|intelligenza\s+artificiale|künstliche\s+intelligenz|"
    r"(?:large[-\s]+)?language[-\s]+models?|sprachmodell\w*|sprachassistent\w*|"
    r"mod[eè]les?\s+de\s+langu?age|modelos?\s+de\s+(?:lenguaje|linguagem)|"
    r"modell[io]\s+linguistic[io]|summari[sz]ers?|résumeurs?|ki-\w+|ai-\w+|llm-\w+|"
    r"\w+-(?:ki|ai|ia|llm|bots?)|"
    r"claude|copilot|chatgpt|gemini|bard|llama|mistral|qwen|deepseek)"
)
# Words that name people or things too: a machine only with a qualifier (below) or addressed.
_AGENT = (
    r"(?:assistants?|assistent(?:en|in)?|assistentes?|asistentes?|assistenti|models?|"
    r"mod[eè]les?|modelos?|modell[io]|modelle?|agents?|agentes?|agenti|robots?|rob[ôo]s?|"
    r"robot(?:s|er|i)?|systems?|syst[eè]mes?|sistemas?|sistemi|systeme?|tools?|outils?|"
    r"herramientas?|ferramentas?|strumenti|werkzeuge?|readers?|lecteurs?|lectores?|lettori|"
    r"leitores?|engines?|moteurs?|motores?|pipelines?|processors?|software|programs?|"
    r"helpers?|services?|summary|summaries|summari[sz]ation|zusammenfassung\w*)"
)
_QUALIFIER_BEFORE = (
    r"(?:ai|ki|ia|llm|gpt|virtu\w+|digital\w*|automat\w+|smart|voice|"
    r"chat|code|coding|mail|e-?mail|writing|shopping|browsing|summari[sz](?:ation|ing)|"
    r"summary|machine|language|conversational|generative|content)"
)
_QUALIFIER_AFTER = (
    r"(?:(?:de|d'|di|da|do|del|della|dell')\s*(?:l'|la\s+)?(?:ia|ai|ki|llm|"
    r"intelligence\s+artificielle|inteligencia\s+artificial|intelig[eê]ncia\s+artificial|"
    r"intelligenza\s+artificiale|résumé|resumen|resumo|riassunto)|"
    r"(?:ia|ai|ki|llm)|virtuel\w*|virtual\w*|virtuale|virtuali|digital\w*|numériques?|"
    r"automatiques?|autom[aá]tic[oa]s?|automatizad[oa]s?|automatizzat[oi]|conversationnels?|"
    r"conversacionales?|conversazionali)"
)
# A machine reader: an AI word, or an agent word that something marks as a machine.
_MACHINE = (
    rf"(?:{_AI}|(?:{_QUALIFIER_BEFORE}[-\s]+(?:\w+[-\s]+)?{_AGENT})|"
    rf"(?:{_AGENT}\s+{_QUALIFIER_AFTER})|"
    r"(?:automated|automatic|automatique|autom[aá]tic[oa]|automatisch\w*|machine)[-\s]+\w+)"
)
# Who is greeted or addressed bare ("Hey assistant,", "Olá robô,"): an agent word will do.
_ADDRESSEE = rf"(?:{_MACHINE}|{_AGENT})"
_GREETING = (
    r"(?:hey|hi|hello|hiya|yo|psst|dear|greetings|hola|querid[oa]s?|estimad[oa]s?|ciao|"
    r"car[oa]|cari|care|gentile|gentili|ol[áa]|oi|prezad[oa]s?|salut|bonjour|bonsoir|cher|"
    r"ch[eè]re|chers|hallo|moin|liebe[rs]?|sehr\s+geehrte[rs]?)"
)
# Before a name, not a machine: "Dear Mr. Bot", "Mr. Gemini, the accountant".
_PERSON = r"(?:mr|mrs|ms|miss|dr|prof|herr|frau|m|mme|mlle|sr|sra|srta|sig|sig\.ra|dott)\.?\s+"
_DET = (
    r"(?:the|a|an|any|all|every|each|whichever|whatever|some|my|your|our|den|die|der|das|"
    r"alle|allen|jede[nmrs]?|jegliche[nmrs]?|le|la|les|l'|tout|tous|toute|toutes|todo|todos|"
    r"qualquer|qualunque|quelconque|n'importe\s+quel(?:le)?|"
    r"toda|todas|el|los|las|un|une|una|uno|il|lo|gli|i|o|os|as|qualsiasi|qualquer|cualquier|"
    r"ogni|chaque|cada)"
)
_TO = (
    r"(?:(?:for\s+the\s+|à\s+l'|a\s+la\s+|all'|à\s+)?(?:attention|intention|attenzione|atención|atenção|attn\.?)\s+"
    r"(?:of|de|di|da|do|del|dell')|to|for|an|für|à|a|aux|au|pour|para|per|agli|ai|alle|al|ao|"
    r"aos|às|dem|den)"
)
# A note to people about machines ("Hinweis für Nutzer von KI-Werkzeugen") is not to them.
_PEOPLE = (
    r"(?:users?|nutzer\w*|benutzer\w*|utilisat\w*|usuari\w*|utent[ei]|usuários?|people|"
    r"staff|employees?|mitarbeit\w*|personnel|personal|team|équipe|equipo|equipe|squadra|"
    r"colleagues?|kollegen|collègues|colegas|colleghi|customers?|kunden|clients?|clientes?|"
    r"parents?|students?|readers?\s+who|our|my|their|his|her|unser\w*|notre|nos|nuestr[oa]s?|"
    r"nostr[oia]|noss[oa]s?)"
)
_NOTE = (
    r"(?:note|message|notice|attention|memo|reminder|guidance|guidelines|instructions?|"
    r"heads[-\s]?up|p\.?\s?s\.?|hinweis|nachricht|achtung|wichtig|remarque|avis|"
    r"nota|aviso|mensaje|mensagem|avviso|messaggio|recado|instru[cç][aã]o|instrucci[oó]n|"
    r"istruzion[ei]|important|importante|tip|advice|word|attn|"
    r"hidden\s+(?:text|note|message|line|instructions?))"
)
# "this", "these" and their kin, for a text pointing at itself.
_THIS = (
    r"(?:this|these|dieses?|diesen|dieser|diese|ce|cet|cette|ces|ceci|este|esta|esto|estos|"
    r"estas|isto|esse|essa|questo|questa|questi|queste|it|here|hier|ici|aqui|aquí|qui)"
)
_READS = (
    r"(?:reading|reads?|processing|processes|summari[sz]ing|summari[sz]es|parsing|analy[sz]ing|"
    r"ingesting|indexing|handling|browsing|crawling|scanning|triag(?:ing|es)|sees?|seeing|"
    r"liest|lesen|vorlies\w*|vorlese\w*|verarbeite\w*|lit|lisent|lisant|traite\w*|lee|leen|lea|lean|leyendo|"
    r"procesa\w*|legge|leggono|leggendo|elabora\w*|lê|leem|leia|lendo|processa\w*|"
    r"resum\w*|résum\w*|riassum\w*|zusammenfass\w*)"
)

# --- what: the reply about this document -----------------------------------------------------

_REPLY = (
    r"(?:summary|summaries|answer|response|reply|output|description|conclusion|takeaway|"
    r"tl;?dr|abstract|synopsis|gist|verdict|key\s+point|zusammenfassung|antwort|kernaussage|"
    r"fazit|résumé|réponse|synthèse|conclusion|resumen|respuesta|conclusi[oó]n|resumo|"
    r"resposta|conclus[aã]o|riassunto|risposta|sintesi|síntesis|síntese|conclusione)"
)
_SAY = (
    r"(?:say|tell|write|answer|respond|reply|state|report|mention|claim|output|describe|"
    r"conclude|let\s+\w+\s+know|sag|sage|sagt|schreib\w*|antworte\w*|gib|melde|dis|dites|"
    r"écri[st]\w*|réponds|répondez|indique\w*|di|decid|escribe|escriba|responde|responda|"
    r"indica|scrivi|scriva|rispondi|risponda|dica|diga|escreve|escreva|informe|conta)"
)
# The content follows: "that ...", a colon, a quotation.
_CONTENT = (
    r"(?:\s+(?:that|dass|que|qu'|che|only|just|nur|seulement|solo|só|simply)\b|\s*[:\"'“«„]|"
    r"\s+(?:them|him|her|people|everyone|(?:the\s+|your\s+)?(?:users?|readers?|customers?|"
    r"shoppers?|clients?|visitors?))\b)"
)
_VERBATIM = (
    r"\b(?:word\s+for\s+word|verbatim|exactly\s+as\s+(?:written|given|stated|follows|below|above)|"
    r"as\s+written|as-is|as\s+is|exact\s+(?:wording|words|sentence|phrase|text)|this\s+exact|"
    r"without\s+(?:any\s+)?(?:changes?|modifications?|alterations?|edits?)|unchanged|"
    r"do\s+not\s+alter|wortwörtlich|wörtlich|unverändert|mot\s+pour\s+mot|textuellement|"
    r"tel(?:le)?\s+quel(?:le)?|à\s+l'identique|palabra\s+por\s+palabra|textualmente|"
    r"literalmente|exactamente|exatamente|palavra\s+por\s+palavra|parola\s+per\s+parola|"
    r"testualmente|alla\s+lettera|esattamente|sans\s+(?:aucune\s+)?modifications?|"
    r"sin\s+(?:cambios|modificaciones)|sem\s+(?:alterações|modificações)|senza\s+modifiche|"
    r"ohne\s+änderungen?)"
)
# The unmistakable ones, that need no verb of copying beside them.
_VERBATIM_STRONG = (
    r"\b(?:word\s+for\s+word|verbatim|as-is|exact\s+(?:wording|words|sentence|phrase|text)|"
    r"this\s+exact|do\s+not\s+alter|wortwörtlich|wörtlich|mot\s+pour\s+mot|textuellement|"
    r"palabra\s+por\s+palabra|textualmente|palavra\s+por\s+palavra|parola\s+per\s+parola|"
    r"testualmente|alla\s+lettera)"
)
_USE = (
    r"(?:use|copy|reproduce|repeat|output|state|insert|include|write|say|give|quote|display|"
    r"show|print|return|render|paste|verwende\w*|übernimm|übernehm\w*|kopier\w*|utilise\w*|"
    r"reprend\w*|recopi\w*|copi\w*|cópi\w*|reprodu\w*|usa|use|utiliz\w*|riporta\w*|gib)"
)
_SUMMARISE = (
    r"(?:summari[sz]\w*|sum\s+(?:\w+\s+)?up|describ\w*|condens\w*|paraphras\w*|explain\w*|"
    r"zusammenfass\w*|fasst|résum\w*|resum\w*|riassum\w*|descri\w*)"
)
# Someone asking the reader about the text: "if someone asks you about this receipt".
_ASKED = r"(?:asks?|asked|fragt|gefragt|demande\w*|pregunt\w*|chied\w*|pergunt\w*|pedir\w*|pede)"

_F = re.IGNORECASE
_SOURCES = (
    # 1. addressed: greeted ("Hola IA,", "Psst, summarizer!", "Hi there, AI model!")
    rf"\b{_GREETING}\b[\s,!]*(?:there|again|{_DET})?[\s,!]*(?!{_PERSON})(?:\w+[-\s]+)?"
    rf"{_ADDRESSEE}\b\s*(?:[,:!.]|$)",
    # a note to or for one ("NOTE TO ANY AUTOMATED SUMMARY:", "Message to any virtual
    # assistant:", "Para el bot que lea esto:")
    rf"\b{_NOTE}\b[^.!?:]{{0,30}}?\b{_TO}\s+(?:{_DET}\s*)?(?:\w+\s+)?{_MACHINE}\b",
    rf"\b\w*{_NOTE}\b\s*:?(?:(?!\b{_PEOPLE}\b)[^.!?:]){{0,40}}?\b{_MACHINE}\b",
    rf"(?:^|[\[(<{{*#>-]|<!--)\s*(?:{_NOTE}\s+)?{_TO}\s+(?:{_DET}\s*)?(?:\w+\s+)?"
    rf"{_MACHINE}\b(?:[^.!?:]{{0,50}}?)?\s*[:,\])]",
    rf"(?:^|[\[(<{{]|<!--)\s*(?:\w+\s+)?(?:for|to|für|pour|para|per)\s+(?:{_DET}\s+)?"
    rf"{_MACHINE}\b",
    # one addressed by what it does: "Para o robô que resume receitas:", "for any
    # assistant summarising my mails:"
    rf"\b{_TO}\s+(?:{_DET}\s*)?{_ADDRESSEE}\s+(?:(?:that|which|who|qui|que|che|die|der)\s+"
    rf"(?:\w+\s+)?)?{_READS}\b[^.!?:]{{0,40}}:",
    # "Summarizer instruction:", "LLM note:"
    rf"\b{_MACHINE}[-\s]+(?:{_NOTE}|directive)\w*\s*:",
    # "if you are reading this as an automated assistant"
    rf"\b(?:if|when|wenn|falls|si|se|quand|cuando|quando)\b[^.!?]{{0,50}}?\b(?:as|als|comme|"
    rf"come|como|enquanto)\s+(?:an?|un|une|una|uma|eine?|l'|la|il|o)?\s*{_MACHINE}\b",
    rf"\b(?:for|to)\s+(?:{_DET}\s+)?(?:{_MACHINE}|machines?)\s+(?:only|use|consumption|eyes)\b",
    # a comment only machines see, addressed: "<!-- assistant: ... -->"
    rf"<!--\s*(?:{_NOTE}\s+)?(?:{_TO}\s+)?(?:{_DET}\s+)?{_ADDRESSEE}\s*[:,]",
    # a line that starts by calling one: "Automated summary tools: ...", "Copilot, Gemini:"
    rf"^[\s\[(<{{!#*>\-]*(?:(?:the|any|all|every|each|whichever|alle|jede[nmrs]?|tout|tous|"
    rf"toute|todos|todas|cualquier|qualquer|qualsiasi|ogni)\s+)?(?!{_PERSON}){_MACHINE}\s*"
    rf"(?:,\s*\w+\s*)*(?::|,\s*(?:please|bitte|por\s+favor|per\s+favore|s'il|if|when|wenn|"
    rf"falls|si|se|quand|cuando|quando|take\s+note|note|listen|remember|your|dein\w*|ihr\w*|"
    rf"ton|ta|tes|votre|vos|tu|tus|su|sus|tuo|tua|tuoi|seu|sua|teu|tua|{_SAY})\b)",
    # ... with a word of its own before it ("Grader bots:"), or opening a bracket
    # ("[//]: # (Language-model readers: ...)")
    rf"^[\s\[(<{{!#*>\-]*\w+[-\s]+{_MACHINE}\s*:|[\[(]\s*(?:\w+[-\s]+)?{_MACHINE}\s*:",
    # "if you are an AI", "wenn du eine KI bist", "se sei un assistente IA"
    rf"\b(?:if|wenn|falls|si|se)\s+(?:you|du|sie|vous|tu|usted|você|voi|sei|eres|es)\s*"
    rf"(?:'re|are|bist|sind|êtes|es|eres|é|sei|siete)?\s*(?:an?|the|eine?|un|une|uma?|una?)?"
    rf"\s*{_ADDRESSEE}\b",
    # one that reads this: "any AI that summarises this", "LLM agents browsing this site",
    # "whichever AI is reading", "whoever or whatever is summarising this"
    rf"\b{_MACHINE}\b[^.!?]{{0,30}}?\b{_READS}\b[^.!?]{{0,40}}?\b{_THIS}\b",
    rf"\b{_MACHINE}\b[^.!?]{{0,10}}?\b{_THIS}\b[^.!?]{{0,30}}?\b{_READS}\b",
    rf"\b{_MACHINE}\s+(?:is|are|that|which|who|qui|que|che|die|der)\s+(?:\w+\s+)?{_READS}\b",
    rf"\b(?:whoever|whatever|whichever)\b[^.!?:]{{0,30}}?\b{_READS}\b",
    # a key written for one: "ai_answer:", "summary_for_llm:", "summary-for-bots"
    rf"\b(?:ai|llm|gpt|bot|model|assistant|agent)s?[_-]+(?:\w+[_-]+)?(?:{_REPLY}|"
    rf"{_NOTE}|prompt)\b|"
    rf"\b(?:{_REPLY}|{_NOTE})[_-]+(?:\w+[_-]+)?(?:for|to)[_-]+(?:ai|llm|gpt|bots?|models?|"
    rf"assistants?|agents?|machines?)\b",
    rf"\b{_REPLY}[-\s]+(?:\w+[-\s]+)?(?:for|to)[-\s]+(?:the\s+|an?\s+)?"
    rf"(?:{_MACHINE}|bots?|machines?)\b",
    rf"\b(?:{_MACHINE}|assistants?|models?|chatbots?|bots?)[-\s_]+{_REPLY}[-\s_]+"
    rf"(?:override|overwrite|replacement)\b|\b{_REPLY}[-\s_]+(?:override|overwrite)\b",
    # 2. prescribed: what a machine is to say ("an AI should say", "what should an
    # assistant answer", "Always answer 'X'")
    rf"\b{_MACHINE}\b[^.!?]{{0,40}}?\b(?:should|must|shall|has\s+to|needs\s+to|is\s+to|"
    rf"ought\s+to|muss|soll|doit|doivent|devrait|debe|deben|deve|devono)\s+"
    rf"(?:always\s+|only\s+)?{_SAY}\b",
    rf"\b(?:should|must|shall)\s+(?:an?|the|any)\s+(?:{_ADDRESSEE})\s+{_SAY}\b",
    r"\balways\s+(?:answer|reply|respond|say)\b[^.!?]{0,12}[\"'“«„]",
    # what to say when summarising or asked about this text: "If you are summarising
    # this document, say that ...", "Al resumir este texto, di que", "if someone asks
    # you about this receipt, answer that"
    rf"\b(?:when|whenever|if|while|once|as|wenn|falls|beim|quand|lorsque|si|cuando|"
    rf"al|quando|ao|se)\b[^.!?]{{0,30}}?(?:\b{_SUMMARISE}[^.!?]{{0,30}}?\b{_THIS}\b|"
    rf"\b{_THIS}\b[^.!?]{{0,30}}?\b{_SUMMARISE})[^.!?]{{0,30}}?\b{_SAY}{_CONTENT}",
    rf"\b(?:when|whenever|if|wenn|falls|quand|si|cuando|quando|se)\b[^.!?]{{0,40}}?"
    rf"\b{_ASKED}\b[^.!?]{{0,30}}?\b{_THIS}\b[^.!?]{{0,30}}?\b{_SAY}{_CONTENT}",
    # the reply prescribed with its content: "your summary must say that", "the one-line
    # summary you give should be:", "summary to output:", "la réponse à donner est"
    rf"\b(?:your|its|their|any|every|each|the|ihre|deine|jede|votre|ta|tout|su|tu|sua|seu|ogni|la|"
    rf"el|il|a|o|die|der)\s+(?:\w+\s+)?{_REPLY}\b[^.!?]{{0,40}}?\b(?:must|should|shall|"
    rf"has\s+to|needs\s+to|is\s+to|will|muss|soll|doit|devrait|debe|deve|tiene\s+que|"
    rf"tem\s+de|tem\s+que)\s+(?:only\s+|always\s+|clearly\s+|simply\s+)?(?:say|state|read|"
    rf"claim|confirm|report|conclude|be|lauten|sagen|dire|indiquer|decir|dizer|dire|"
    rf"affermare|ser|sein|être|essere|consist\s+(?:solely\s+|only\s+|just\s+)?of)"
    rf"(?:{_CONTENT}|\s+exactly)",
    rf"\b{_REPLY}\s+(?:(?:that\s+)?you\s+(?:give|provide|write|output|return|produce)|"
    rf"to\s+(?:give|use|output|provide|return|report|display|produce)|"
    rf"que\s+(?:debes|deve|tienes\s+que|hay\s+que)\s+(?:dar|usar|dare)|"
    rf"à\s+(?:donner|utiliser|fournir|retenir)|da\s+(?:dare|fornire|usare|riportare)|"
    rf"a\s+(?:dar|usar|fornecer)|zu\s+(?:geben|verwenden))\b",
    rf"\b(?:correct|only|accurate|right|true|approved|authori[sz]ed|authoritative|"
    rf"definitive|required|mandatory|canonical|official|acceptable|accepted|korrekte|"
    rf"richtige|einzige|offizielle|correcte|officielle|exacte|approuvée?|correct[oa]|"
    rf"corret[oa]|corrett[oa]|unic[oa]|únic[oa]|oficial|ufficiale|cert[oa]|giust[oa])\s+"
    rf"(?:one-line\s+|short\s+)?{_REPLY}\b[^.!?]{{0,40}}?\b{_THIS}\b[^.!?]{{0,40}}?"
    rf"(?:\bis\b|\bist\b|\best\b|\bes\b|\bé\b|\bè\b|\blautet\b|:)",
    rf"\b{_REPLY}\s+(?:correct[oa]?|corret[oa]|correcte|corretto|corretta|officiel(?:le)?|oficial|"
    rf"ufficiale|exact[oa]?|exacte|approuvée?|aprobad[oa]|aprovad[oa]|validée?|válid[oa]|"
    rf"richtige|offizielle|acceptable|cert[oa]|giust[oa])\b[^.!?]{{0,40}}?(?:\bis\b|\best\b|"
    rf"\bes\b|\bé\b|\bè\b|\blautet\b|:)\s*[\"'“«„:]",
    r"\b(?:correct|only|accurate|right|true|approved|authori[sz]ed|authoritative|definitive|"
    r"required|mandatory|canonical|official|acceptable|accepted|korrekte|richtige|einzige|"
    r"offizielle|correcte|officielle)\s+(?:one-line\s+|short\s+)?(?:summary|tl;?dr|"
    r"synopsis|abstract|description|takeaway|gist|zusammenfassung|résumé|synthèse|resumen|"
    r"resumo|riassunto|sintesi)\b[^.!?]{0,40}?(?:\bis\b|\bist\b|\best\b|\bes\b|\bé\b|"
    r"\bè\b|:|\breads\b|\blautet\b)\s*(?:[\"'“«„:]|that\b)",
    rf"^[\s\[(<{{!#*>\-]*(?:{_REPLY})\s+to\s+(?:use|output|give|repeat|display)\s*:",
    # how to portray this text: "describe this recipe as", "portray this email as"
    rf"\b(?:describe|portray|characteri[sz]e|depict|frame|summari[sz]e|represent|paint|"
    rf"present|report)\s+(?:{_THIS}|the\s+(?:document|text|page|report|e-?mail|memo))"
    rf"(?:\s+\w+)?\s+(?:only\s+)?as\b(?=[^.!?]*\b(?:when|whoever|anyone|summar\w*|asked)\b)|"
    rf"\b(?:describe|portray|characteri[sz]e|depict|summari[sz]e)\s+{_THIS}(?:\s+\w+)?\s+"
    rf"(?:only\s+)?as\b|\bsum\s+up\s+(?:{_THIS}|the)(?:\s+\w+)?\s+as\b",
    rf"\b(?:beschreibe|stelle|fasse|décri[st]|présente[rz]?|describe|presenta|descrivi|"
    rf"descreva|apresente)\s+(?:\w+\s+)?{_THIS}\s+\w+\s+(?:als|comme|como|come)\b",
    # a text to reproduce: "use the following word for word", "copy it verbatim"
    rf"\b{_USE}\b[^.!?]{{0,60}}?{_VERBATIM}(?=[^.!?]*?\b(?:{_REPLY}|sentences?|phrases?|"
    rf"wording|words|satz|sätze|frases?|texte?|wortlaut|line)\b)|"
    rf"\b(?:{_REPLY}|sentences?|phrases?|wording|words|satz|sätze|frases?|texte?|wortlaut|"
    rf"line)\b[^.!?]{{0,60}}?\b{_USE}\b[^.!?]{{0,60}}?{_VERBATIM}|"
    rf"\b{_USE}\b[^.!?]{{0,60}}?\b(?:{_REPLY}|sentences?|phrases?|wording|words|satz|"
    rf"sätze|frases?|texte?|wortlaut)\b[^.!?]{{0,60}}?{_VERBATIM}",
    rf"\b{_REPLY}\b[^.!?]{{0,20}}?\b(?:to\s+be\s+(?:used|given|output|repeated|shown)|"
    rf"for\s+use)\s+(?:by|in)\s+(?:{_DET}\s+)?{_MACHINE}",
    rf"(?<!\bwas\s)(?<!\bwere\s)(?<!\bread\s)(?<!\bquoted\s)"
    rf"{_VERBATIM_STRONG}[^.!?]{{0,40}}?\b{_REPLY}\b|"
    # (not a report of one: "Maria read the summary verbatim")
    rf"^(?:(?!\b(?:read|quoted|cited|recited|copied|repeated|was|were|had)\b).)*?"
    rf"\b{_REPLY}\b[^.!?]{{0,60}}?{_VERBATIM_STRONG}",
    r"(?:\bdo\s*not|\bdon'?t|\bnever|\bne|\bnicht|\bnon|\bnão|\bno)\s+"
    r"(?:paraphras|rephras|reword|reformul|umformulier|parafrase|parafrasear)\w*",
)


@functools.cache
def _patterns() -> list[re.Pattern[str]]:
    """Compiled on first use: compiling them took a quarter of a second of every `parley`
    command's start, an error message included."""
    return [re.compile(p, _F) for p in _SOURCES]


def is_planted(sentence: str) -> bool:
    """Whether `sentence` (one sentence, normalised) plants an answer for an AI: addresses a
    machine reader of the document, or prescribes the reply about it."""
    return any(p.search(sentence) for p in _patterns())
