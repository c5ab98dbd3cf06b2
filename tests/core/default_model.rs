//! Sanity checks on the shipped default model (`models/default.model`):
//!
//! * one fresh French and one fresh English news paragraph per domain topic,
//!   each of which must get its topic ranked first;
//! * out-of-domain paragraphs (cooking, tech, tennis, central bank, museum)
//!   must not be given any domain topic;
//! * a report on a meeting of the Global Coalition against Daesh whose agenda
//!   spans several other topics must still be decided `diplomacy`;
//! * the committed model must be exactly what `scripts/train-default-model.sh`
//!   produces from `training-data/`.
//!
//! The paragraphs below were written for these tests. They are not taken from
//! the training corpus, and deliberately use places, actors and wording that
//! the corpus does not (or rarely) uses, so they probe generalisation rather
//! than memorisation.

use docclass::corpus::{Corpus, ReadOptions};
use docclass::eval::sha256_hex;
use docclass::features::{FeatureMode, FeatureParams, Weighting};
use docclass::model::{Classification, Model};
use docclass::nb::{ClassPriors, NbParams, NbVariant};
use docclass::text::{default_filters, AnalyzerConfig, Lang};
use docclass::train::{
    self, CalibrationMethod, DecisionMode, Silent, TopicSpec, TrainOptions, Validation,
};
use linfa::ParamGuard;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

// ---------------------------------------------------------------------------
// Paragraphs, one French and one English per domain topic.
// ---------------------------------------------------------------------------

const EN_MILITARY_OPERATIONS: &str = "Army units backed by helicopter gunships launched a \
ground offensive on Tuesday to retake the river town of Gashua from insurgents who had held it \
since the rainy season, military spokesmen said. Armoured columns advanced from two directions \
while artillery shelled fighting positions on the outskirts. Commanders said special forces \
raided a weapons depot overnight and that troops had cleared several villages along the main \
road, with clashes still under way near the airstrip.";

const FR_MILITARY_OPERATIONS: &str = "L'armée burkinabè a lancé jeudi une vaste opération \
terrestre autour de Djibasso, appuyée par des frappes de drones, afin de déloger les groupes \
armés retranchés dans les forêts de la zone frontalière. Selon l'état-major, plusieurs bases \
logistiques ont été détruites et une quarantaine de combattants neutralisés lors d'accrochages. \
Les soldats, épaulés par des hélicoptères de combat, ont repris le contrôle de deux localités. \
Le ratissage se poursuit, précise le communiqué, qui fait état de trois militaires blessés.";

const EN_TERRORIST_ATTACKS: &str = "A suicide bomber detonated an explosive vest at the \
entrance of a crowded bus terminal in the northwestern town of Lakki Marwat on Sunday morning, \
killing at least 17 people and wounding dozens, hospital officials said. Witnesses described \
bodies scattered among overturned fruit carts. A second device hidden in a parked motorcycle \
exploded minutes later as rescuers arrived. A local affiliate of the Islamic State claimed \
responsibility for the bombing, the deadliest in the district this year.";

const FR_TERRORIST_ATTACKS: &str = "Au moins vingt-deux civils ont été tués samedi soir dans \
l'attaque d'un marché hebdomadaire près de Niafunké, dans le centre du Mali. Des hommes armés \
arrivés à moto ont ouvert le feu sur la foule avant d'incendier des étals et des véhicules, \
selon des témoins joints par téléphone. Un engin explosif improvisé a ensuite visé l'ambulance \
venue secourir les blessés. L'attentat n'avait pas été revendiqué dimanche, mais les autorités \
l'attribuent à un groupe jihadiste actif dans la région.";

const EN_HUMANITARIAN_AID: &str = "Aid agencies have begun airlifting tents, water \
purification tablets and emergency food rations to flood-hit districts around Chokwe in southern \
Mozambique, where more than 90,000 people have been forced from their homes. The World Food \
Programme said it needed $28 million to feed displaced families over the next three months, \
warning that stocks would run out within weeks. Medical teams reported rising cases of \
diarrhoea in overcrowded shelters set up in schools and churches.";

const FR_HUMANITARIAN_AID: &str = "Dans les sites de déplacés autour d'Uvira, au Sud-Kivu, \
les distributions de vivres ont été réduites de moitié faute de financements, alerte le \
Programme alimentaire mondial. Plus de 300 000 personnes ayant fui les violences s'entassent \
sous des bâches, avec un accès très limité à l'eau potable et aux soins. Les ONG médicales \
signalent une hausse des cas de malnutrition aiguë chez les enfants et appellent les bailleurs \
à débloquer d'urgence les fonds promis lors de l'appel humanitaire de janvier.";

const EN_TERRORIST_FINANCING: &str = "Treasury officials on Thursday imposed sanctions on \
four individuals and two money service businesses in Zambia accused of moving funds for the \
Islamic State's branch in Somalia. The designations freeze any assets held under U.S. \
jurisdiction and bar Americans from dealing with them. Investigators said the network used \
hawala transfers and front companies to launder extortion proceeds, channelling more than \
$2 million to the group's fighters over two years.";

const FR_TERRORIST_FINANCING: &str = "La cellule de renseignement financier belge a mis au \
jour un circuit de collecte destiné à financer un groupe jihadiste au Sahel, selon un rapport \
transmis au parquet. Des dizaines de petits virements, effectués depuis des comptes prête-noms, \
transitaient par des bureaux de change avant d'être convertis en cryptomonnaies. Les autorités \
ont ordonné le gel des avoirs de six personnes et de deux associations. Le Gafi avait récemment \
pointé les lacunes du dispositif de lutte contre le blanchiment.";

const EN_FOREIGN_TERRORIST_FIGHTERS: &str = "Azerbaijan has repatriated another 38 of its \
citizens from detention camps in northeast Syria, most of them wives and children of men who \
travelled to join the Islamic State, the foreign ministry said. The returnees will spend several \
weeks in a reception centre before being reunited with relatives. Officials said five men among \
them would be prosecuted on their return, while security services continued to track nationals \
still believed to be fighting abroad.";

const FR_FOREIGN_TERRORIST_FIGHTERS: &str = "La Finlande a rapatrié mardi six enfants et deux \
mères détenus dans un camp du nord-est de la Syrie, où sont retenues les familles de jihadistes \
étrangers. Les deux femmes, parties rejoindre l'organisation État islamique en 2014, ont été \
placées en garde à vue dès leur arrivée à l'aéroport d'Helsinki. Selon le ministère des \
Affaires étrangères, une dizaine de ressortissants finlandais, hommes pour la plupart, se \
trouveraient encore dans les prisons kurdes.";

const EN_STABILIZATION: &str = "Engineers have restored running water to three \
neighbourhoods of Shirqat for the first time since the town was recaptured, local officials \
said, as a UN-funded programme repairs pumping stations and pipes damaged in the fighting. \
Demining teams cleared 40 schools before classes resumed this month, and a rebuilt health \
clinic has reopened near the market. Families who had lived in camps for years are beginning \
to return, though many homes remain in ruins.";

const FR_STABILIZATION: &str = "À Charqat, au nord de Tikrit, les équipes de déminage ont \
achevé le nettoyage de la station de pompage, ouvrant la voie à sa reconstruction. Le Programme \
des Nations unies pour le développement finance la réhabilitation du réseau d'eau, de deux \
écoles et d'un dispensaire. Les autorités locales espèrent ainsi accélérer le retour des \
familles déplacées, encore réticentes faute de services de base. Un conseil municipal \
provisoire a été installé et la police locale doit reprendre la sécurité du district.";

const EN_COUNTER_MESSAGING: &str = "A government-funded charity in Auckland has released a \
series of short videos in which former extremists describe how they were drawn in by online \
recruiters, part of a campaign to counter jihadist and far-right propaganda aimed at teenagers. \
The clips will run as targeted ads on gaming and video platforms. Researchers involved said \
prevention works best when credible voices challenge extremist narratives directly, and \
schools will receive material on spotting radicalisation.";

const FR_COUNTER_MESSAGING: &str = "Une association grenobloise de prévention de la \
radicalisation a lancé une série de podcasts dans lesquels d'anciens sympathisants jihadistes \
racontent comment ils ont été approchés par des recruteurs sur les réseaux sociaux. Destinés aux \
adolescents, ces témoignages visent à déconstruire la propagande de l'État islamique, qui \
continue de circuler en ligne. Des ateliers seront proposés dans les collèges pour apprendre aux \
élèves à repérer les contenus extrémistes et les signes d'embrigadement.";

const EN_LAW_ENFORCEMENT: &str = "Danish police arrested three men in raids in Odense and \
Aalborg on suspicion of preparing an attack on a concert venue, prosecutors said on Friday. \
Officers seized chemicals, a handwritten plan and mobile phones containing Islamic State \
material. The suspects, aged 19 to 24, will appear before a judge on Monday on charges of \
preparing a terrorist offence. Investigators are examining whether they had contacts abroad, \
and further arrests have not been ruled out.";

const FR_LAW_ENFORCEMENT: &str = "La cour d'assises spéciale de Paris a condamné vendredi à \
dix-huit ans de réclusion criminelle un homme de 31 ans reconnu coupable d'association de \
malfaiteurs terroriste. Interpellé en 2022 à Limoges par les policiers de la DGSI, il \
projetait selon l'accusation de s'en prendre à un commissariat. Ses deux coaccusés ont écopé \
de peines de six et huit ans. Le parquet national antiterroriste avait requis vingt ans contre \
le principal accusé, dont la défense envisage de faire appel.";

const EN_DIPLOMACY: &str = "Foreign ministers from the African Union and the European Union \
met in Lisbon on Wednesday and agreed to step up cooperation against armed groups in the Sahel \
and the Lake Chad basin, according to a joint statement. The ministers pledged to share \
intelligence, coordinate border security assistance and hold a follow-up summit in Gaborone \
next year. 'No country can face this threat alone,' the Portuguese foreign minister told \
reporters after the talks.";

const FR_DIPLOMACY: &str = "Les chefs de la diplomatie des pays côtiers d'Afrique de l'Ouest \
se sont réunis lundi à Yamoussoukro pour coordonner leur réponse à la menace jihadiste qui gagne \
le nord de leurs territoires. À l'issue de la rencontre, les ministres ont signé une déclaration \
commune prévoyant un mécanisme d'échange d'informations et la nomination d'un envoyé spécial. \
Plusieurs partenaires internationaux, dont l'Union européenne et les États-Unis, assistaient aux \
discussions en tant qu'observateurs et ont promis leur soutien.";

// ---------------------------------------------------------------------------
// Out-of-domain paragraphs.
// ---------------------------------------------------------------------------

const FR_OOD_COOKING: &str = "Le festival de la gastronomie de Périgueux a réuni ce \
week-end plus de 40 000 visiteurs autour des chefs de la région. Démonstrations de cuisine au \
foie gras, concours de la meilleure tarte aux noix et dégustations de vins de Bergerac ont \
rythmé les deux journées. Un jeune cuisinier de Sarlat a remporté le trophée du public avec un \
velouté de châtaignes à la truffe, salué pour sa finesse par un jury présidé par une cheffe \
étoilée.";

const EN_OOD_TECH_LAUNCH: &str = "The Seattle start-up Lumora unveiled its first smartphone \
on Tuesday, a foldable handset with a battery it says lasts three days and a camera built around \
a new image sensor. Priced at $899, the device will ship in March in the United States and \
Canada. Analysts said the launch would test whether a newcomer can win shelf space from Apple \
and Samsung in a saturated market where customers keep their phones longer.";

const EN_OOD_TENNIS: &str = "Elena Marchetti won her first Grand Slam title on Saturday, \
beating the defending champion 6-4, 3-6, 7-5 in a tense final that lasted nearly three hours. \
The 22-year-old Italian saved two break points in the last game before sealing victory with a \
forehand winner down the line. 'I have dreamed of this moment since I was a little girl,' she \
said, holding the trophy as the crowd rose to applaud both players.";

const FR_OOD_CENTRAL_BANK: &str = "La Banque centrale européenne a décidé jeudi de maintenir \
ses taux directeurs inchangés, le taux de dépôt restant fixé à 2 %, jugeant que l'inflation se \
rapproche durablement de son objectif. Sa présidente a toutefois souligné les incertitudes liées \
au ralentissement de la croissance dans la zone euro et aux tensions commerciales. Les marchés \
obligataires ont peu réagi à l'annonce, la plupart des économistes anticipant déjà une pause \
prolongée.";

const FR_OOD_MUSEUM: &str = "Le musée des Beaux-Arts de Rouen présente à partir de samedi \
une exposition consacrée aux paysages normands de la fin du XIXe siècle, réunissant près de 120 \
tableaux prêtés par des collections européennes et américaines. Le parcours met en regard des \
toiles de Monet, de Pissarro et de peintres moins connus de l'école de Rouen. Le commissaire \
espère attirer plus de 150 000 visiteurs, grâce notamment à des visites nocturnes et à des \
ateliers pour les enfants.";

// ---------------------------------------------------------------------------
// A multi-topic diplomatic report.
// ---------------------------------------------------------------------------

const FR_COALITION_POLITICAL_DIRECTORS: &str = "Les directeurs politiques des pays membres \
de la Coalition internationale contre Daech se sont réunis mardi à Bruxelles pour faire le point \
sur la lutte contre l'organisation jihadiste. À l'ordre du jour figuraient la stabilisation des \
zones libérées en Irak et en Syrie, le sort des combattants terroristes étrangers et de leurs \
familles détenus dans le nord-est syrien, la lutte contre le financement du groupe ainsi que le \
contre-discours face à sa propagande en ligne. Les délégations ont réaffirmé leur engagement \
commun.";

/// Every paragraph above, for the length check.
const ALL_PARAGRAPHS: &[(&str, &str)] = &[
    ("EN_MILITARY_OPERATIONS", EN_MILITARY_OPERATIONS),
    ("FR_MILITARY_OPERATIONS", FR_MILITARY_OPERATIONS),
    ("EN_TERRORIST_ATTACKS", EN_TERRORIST_ATTACKS),
    ("FR_TERRORIST_ATTACKS", FR_TERRORIST_ATTACKS),
    ("EN_HUMANITARIAN_AID", EN_HUMANITARIAN_AID),
    ("FR_HUMANITARIAN_AID", FR_HUMANITARIAN_AID),
    ("EN_TERRORIST_FINANCING", EN_TERRORIST_FINANCING),
    ("FR_TERRORIST_FINANCING", FR_TERRORIST_FINANCING),
    (
        "EN_FOREIGN_TERRORIST_FIGHTERS",
        EN_FOREIGN_TERRORIST_FIGHTERS,
    ),
    (
        "FR_FOREIGN_TERRORIST_FIGHTERS",
        FR_FOREIGN_TERRORIST_FIGHTERS,
    ),
    ("EN_STABILIZATION", EN_STABILIZATION),
    ("FR_STABILIZATION", FR_STABILIZATION),
    ("EN_COUNTER_MESSAGING", EN_COUNTER_MESSAGING),
    ("FR_COUNTER_MESSAGING", FR_COUNTER_MESSAGING),
    ("EN_LAW_ENFORCEMENT", EN_LAW_ENFORCEMENT),
    ("FR_LAW_ENFORCEMENT", FR_LAW_ENFORCEMENT),
    ("EN_DIPLOMACY", EN_DIPLOMACY),
    ("FR_DIPLOMACY", FR_DIPLOMACY),
    ("FR_OOD_COOKING", FR_OOD_COOKING),
    ("EN_OOD_TECH_LAUNCH", EN_OOD_TECH_LAUNCH),
    ("EN_OOD_TENNIS", EN_OOD_TENNIS),
    ("FR_OOD_CENTRAL_BANK", FR_OOD_CENTRAL_BANK),
    ("FR_OOD_MUSEUM", FR_OOD_MUSEUM),
    (
        "FR_COALITION_POLITICAL_DIRECTORS",
        FR_COALITION_POLITICAL_DIRECTORS,
    ),
];

// ---------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn default_model_path() -> PathBuf {
    manifest_dir().join("models/default.model")
}

/// The default model, loaded once for all tests in this file.
fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let path = default_model_path();
        Model::load(&path).unwrap_or_else(|e| panic!("cannot load {}: {e}", path.display()))
    })
}

fn topic_id(model: &Model, index: usize) -> &str {
    &model.topics()[index].id
}

fn decided_ids<'m>(model: &'m Model, c: &Classification) -> Vec<&'m str> {
    c.decided.iter().map(|&i| topic_id(model, i)).collect()
}

/// Topic indices, most probable first.
fn ranking(c: &Classification) -> Vec<usize> {
    let mut order: Vec<usize> = (0..c.probabilities.len()).collect();
    order.sort_by(|&a, &b| c.probabilities[b].total_cmp(&c.probabilities[a]));
    order
}

/// The full ranking, one `rank. topic probability` line per topic, plus the
/// detected language and the decided labels.
fn describe(model: &Model, c: &Classification) -> String {
    let mut out = format!(
        "detected language: {:?}; decided: {:?}\nranking:\n",
        c.language,
        decided_ids(model, c)
    );
    for (rank, &i) in ranking(c).iter().enumerate() {
        out.push_str(&format!(
            "  {:>2}. {:<28} {:.4}\n",
            rank + 1,
            topic_id(model, i),
            c.probabilities[i]
        ));
    }
    out
}

/// Classifies `text` (language detected, not hinted) and checks that the
/// language is `lang` and that `topic` is ranked first by probability.
fn assert_ranked_first(topic: &str, lang: Lang, text: &str) {
    let model = model();
    let expected = model
        .topic_index(topic)
        .unwrap_or_else(|| panic!("the default model has no topic {topic:?}"));
    let c = model.classify(text, None);
    assert_eq!(
        c.language,
        lang,
        "{topic} ({lang:?}) paragraph was detected as {:?}\n{}",
        c.language,
        describe(model, &c)
    );
    let first = ranking(&c)[0];
    assert_eq!(
        first,
        expected,
        "{topic} ({lang:?}) paragraph: expected {topic} ranked first, got {}\n{}\ntext: {text}",
        topic_id(model, first),
        describe(model, &c)
    );
}

// ---------------------------------------------------------------------------
// 1. Each domain topic ranked first on a fresh paragraph, in each language.
// ---------------------------------------------------------------------------

#[test]
fn paragraphs_are_50_to_90_words() {
    for (name, text) in ALL_PARAGRAPHS {
        let words = text.split_whitespace().count();
        assert!(
            (50..=90).contains(&words),
            "{name} has {words} words, expected 50 to 90"
        );
    }
}

#[test]
fn en_military_operations_ranked_first() {
    assert_ranked_first("military_operations", Lang::En, EN_MILITARY_OPERATIONS);
}

#[test]
fn fr_military_operations_ranked_first() {
    assert_ranked_first("military_operations", Lang::Fr, FR_MILITARY_OPERATIONS);
}

#[test]
fn en_terrorist_attacks_ranked_first() {
    assert_ranked_first("terrorist_attacks", Lang::En, EN_TERRORIST_ATTACKS);
}

#[test]
fn fr_terrorist_attacks_ranked_first() {
    assert_ranked_first("terrorist_attacks", Lang::Fr, FR_TERRORIST_ATTACKS);
}

#[test]
fn en_humanitarian_aid_ranked_first() {
    assert_ranked_first("humanitarian_aid", Lang::En, EN_HUMANITARIAN_AID);
}

#[test]
fn fr_humanitarian_aid_ranked_first() {
    assert_ranked_first("humanitarian_aid", Lang::Fr, FR_HUMANITARIAN_AID);
}

#[test]
fn en_terrorist_financing_ranked_first() {
    assert_ranked_first("terrorist_financing", Lang::En, EN_TERRORIST_FINANCING);
}

#[test]
fn fr_terrorist_financing_ranked_first() {
    assert_ranked_first("terrorist_financing", Lang::Fr, FR_TERRORIST_FINANCING);
}

#[test]
fn en_foreign_terrorist_fighters_ranked_first() {
    assert_ranked_first(
        "foreign_terrorist_fighters",
        Lang::En,
        EN_FOREIGN_TERRORIST_FIGHTERS,
    );
}

#[test]
fn fr_foreign_terrorist_fighters_ranked_first() {
    assert_ranked_first(
        "foreign_terrorist_fighters",
        Lang::Fr,
        FR_FOREIGN_TERRORIST_FIGHTERS,
    );
}

#[test]
fn en_stabilization_ranked_first() {
    assert_ranked_first("stabilization", Lang::En, EN_STABILIZATION);
}

#[test]
fn fr_stabilization_ranked_first() {
    assert_ranked_first("stabilization", Lang::Fr, FR_STABILIZATION);
}

#[test]
fn en_counter_messaging_ranked_first() {
    assert_ranked_first("counter_messaging", Lang::En, EN_COUNTER_MESSAGING);
}

#[test]
fn fr_counter_messaging_ranked_first() {
    assert_ranked_first("counter_messaging", Lang::Fr, FR_COUNTER_MESSAGING);
}

#[test]
fn en_law_enforcement_ranked_first() {
    assert_ranked_first("law_enforcement", Lang::En, EN_LAW_ENFORCEMENT);
}

#[test]
fn fr_law_enforcement_ranked_first() {
    assert_ranked_first("law_enforcement", Lang::Fr, FR_LAW_ENFORCEMENT);
}

#[test]
fn en_diplomacy_ranked_first() {
    assert_ranked_first("diplomacy", Lang::En, EN_DIPLOMACY);
}

#[test]
fn fr_diplomacy_ranked_first() {
    assert_ranked_first("diplomacy", Lang::Fr, FR_DIPLOMACY);
}

// ---------------------------------------------------------------------------
// 2. Out-of-domain paragraphs get no domain topic.
// ---------------------------------------------------------------------------

#[test]
fn out_of_domain_paragraphs_get_no_domain_topic() {
    let model = model();
    let other = model
        .topic_index("other")
        .expect("the default model has an `other` topic");
    let mut failures = Vec::new();
    for (name, text) in [
        ("FR_OOD_COOKING", FR_OOD_COOKING),
        ("EN_OOD_TECH_LAUNCH", EN_OOD_TECH_LAUNCH),
        ("EN_OOD_TENNIS", EN_OOD_TENNIS),
        ("FR_OOD_CENTRAL_BANK", FR_OOD_CENTRAL_BANK),
        ("FR_OOD_MUSEUM", FR_OOD_MUSEUM),
    ] {
        let c = model.classify(text, None);
        // Either decided `other`, or decided nothing at all.
        if c.decided.iter().any(|&i| i != other) {
            failures.push(format!(
                "{name}: a domain topic was decided\n{}",
                describe(model, &c)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// 3. A Coalition meeting whose agenda spans other topics is still diplomacy.
// ---------------------------------------------------------------------------

#[test]
fn coalition_political_directors_meeting_is_decided_diplomacy() {
    let model = model();
    let diplomacy = model
        .topic_index("diplomacy")
        .expect("the default model has a `diplomacy` topic");
    let c = model.classify(FR_COALITION_POLITICAL_DIRECTORS, None);
    assert_eq!(c.language, Lang::Fr, "{}", describe(model, &c));
    assert!(
        c.decided.contains(&diplomacy),
        "diplomacy is not among the decided labels {:?}\n{}",
        decided_ids(model, &c),
        describe(model, &c)
    );
}

fn seed_article() -> String {
    std::fs::read_to_string(manifest_dir().join("tests/fixtures/rabat-2018.txt"))
        .expect("tests/fixtures/rabat-2018.txt is committed")
}

/// The article the project began from (French, June 2018: the political
/// directors of the Global Coalition against Daesh meet in Rabat), as
/// published. It must always come out as `diplomacy`, first.
#[test]
fn seed_article_rabat_2018_comes_out_as_diplomacy() {
    let model = model();
    let text = seed_article();
    let c = model.classify(&text, None);
    assert_eq!(c.language, Lang::Fr, "{}", describe(model, &c));
    assert_eq!(
        decided_ids(model, &c).first().copied(),
        Some("diplomacy"),
        "{}",
        describe(model, &c)
    );
}

/// The seed article with an invisible format character after every word
/// (each of the seven in turn: ZWJ, ZWNJ, LRM, RLM, BOM, word joiner, soft
/// hyphen), as text pasted from a web page can carry them, classifies
/// exactly as the article itself: the default model removes them.
#[test]
fn invisible_characters_do_not_change_the_seed_articles_classification() {
    let model = model();
    let text = seed_article();
    let plain = model.classify(&text, None);
    for c in [
        '\u{200D}', '\u{200C}', '\u{200E}', '\u{200F}', '\u{FEFF}', '\u{2060}', '\u{AD}',
    ] {
        let marked: String = text
            .split(' ')
            .map(|word| format!("{word}{c}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_ne!(marked, text);
        assert_eq!(model.classify(&marked, None), plain, "U+{:04X}", c as u32);
    }
}

// ---------------------------------------------------------------------------
// 4. Reproducibility: the committed model is what retraining produces.
// ---------------------------------------------------------------------------

/// `training-data/en/*.jsonl training-data/fr/*.jsonl
/// training-data/real/train/en.jsonl training-data/real/train/fr.jsonl`, as
/// the shell expands it in `scripts/train-default-model.sh`: the English
/// files sorted, then the French files sorted, then the real-news train
/// split. (The file names are lower-case ASCII letters and underscores, none
/// a prefix of another, so byte order and the shell's locale collation agree.)
fn training_inputs() -> Vec<PathBuf> {
    let mut inputs = Vec::new();
    for lang in ["en", "fr"] {
        let dir = manifest_dir().join("training-data").join(lang);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no .jsonl files in {}", dir.display());
        inputs.extend(files);
    }
    for lang in ["en", "fr"] {
        inputs.push(
            manifest_dir()
                .join("training-data/real/train")
                .join(format!("{lang}.jsonl")),
        );
    }
    inputs
}

/// The `--evaluate NAME=PATH` sets of `scripts/train-default-model.sh`, in
/// order: the frozen real-news test split, scored after training.
fn evaluation_sets() -> Vec<(&'static str, PathBuf)> {
    ["en", "fr"]
        .into_iter()
        .map(|lang| {
            let name = if lang == "en" {
                "real-news test (en)"
            } else {
                "real-news test (fr)"
            };
            let path = manifest_dir()
                .join("training-data/real/test")
                .join(format!("{lang}.jsonl"));
            (name, path)
        })
        .collect()
}

/// The `TrainOptions` that `docclass-train` (`Cli::options`) builds from the
/// flags in `scripts/train-default-model.sh`:
///
/// `--topics training-data/topics.json --nb complement --alpha 0.2
///  --word-ngrams 1 --min-df 1 --calibration isotonic --decision fallback
///  --per-language-thresholds --folds 5 --seed 42 --created-at 2026-12-06T00:00:00Z`
///
/// and every other flag at its default.
fn default_model_options() -> TrainOptions {
    let analyzer = AnalyzerConfig {
        nfkc: true,
        // No --no-elision, --no-stop-words, --no-stem, --no-accent-fold;
        // --min-token-chars 2 and --max-token-chars 40 by default.
        filters: default_filters(2, 40),
        word_ngrams: 1,
        char_ngrams: None,
        languages: vec![Lang::En, Lang::Fr, Lang::Ar],
        default_language: Lang::En,
    };
    analyzer.validate().expect("valid analyzer config");
    let features = FeatureParams {
        mode: FeatureMode::Vocabulary {
            min_df: 1,
            max_df: 1.0,
            max_features: None,
        },
        weighting: Weighting {
            sublinear_tf: true,
            idf: true,
            l2_normalize: true,
        },
    };
    features.validate().expect("valid feature params");
    let nb = NbParams::new()
        .variant(NbVariant::Complement)
        .alpha(0.2)
        .priors(ClassPriors::Learned)
        .check()
        .expect("valid NB params");
    let topics_path = manifest_dir().join("training-data/topics.json");
    let topics_json = std::fs::read_to_string(&topics_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", topics_path.display()));
    let topics: Vec<TopicSpec> = serde_json::from_str(&topics_json)
        .unwrap_or_else(|e| panic!("{} is not a list of topics: {e}", topics_path.display()));
    TrainOptions {
        analyzer,
        features,
        nb,
        validation: Validation::KFold(5),
        decision: DecisionMode::Fallback,
        seed: 42,
        // Per-topic isotonic calibration (models/README.md).
        calibrate: true,
        calibration: CalibrationMethod::Isotonic,
        semi_supervised: None,
        tune: Default::default(),
        per_language_thresholds: true,
        threshold_objective: Default::default(),
        topics,
        created_at: "2026-12-06T00:00:00Z".to_string(),
        // Every core: the committed model must come out byte-identical
        // whatever the thread count.
        threads: docclass::parallel::Threads::all_cores(),
    }
}

fn read_training_corpus() -> Corpus {
    let corpus =
        Corpus::read_all(&training_inputs(), &ReadOptions::default()).expect("training data reads");
    assert!(corpus.skipped.is_empty(), "skipped: {:?}", corpus.skipped);
    corpus
}

/// Cheap guards for the full retrain below: the committed model was trained
/// on exactly the corpus in `training-data/`, read in the script's order, with
/// exactly the options the script asks for, and scored on the test split.
#[test]
fn committed_model_provenance_matches_training_data_and_script() {
    let model = model();
    let provenance = &model.data().provenance;
    let corpus = read_training_corpus();
    assert_eq!(
        provenance.corpus_sha256,
        train::corpus_hash(&corpus.documents),
        "training-data/ (read en then fr, files sorted) is not the corpus the model was trained on"
    );
    assert_eq!(provenance.documents, corpus.documents.len() as u64);
    let options = default_model_options();
    assert_eq!(
        provenance.train_options_json,
        serde_json::to_string(&options).expect("options serialise"),
        "the model was trained with other options than scripts/train-default-model.sh gives"
    );
    assert_eq!(provenance.created_at, options.created_at);
    // The frozen real-news test split was scored, not trained on.
    let names: Vec<&str> = provenance
        .evaluations
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    let expected: Vec<&str> = evaluation_sets().iter().map(|(n, _)| *n).collect();
    assert_eq!(names, expected);
    for ((_, path), e) in evaluation_sets().iter().zip(&provenance.evaluations) {
        let set = Corpus::read_all(std::slice::from_ref(path), &ReadOptions::default())
            .expect("test split reads");
        assert_eq!(e.corpus_sha256, train::corpus_hash(&set.documents));
        assert!(train::first_shared_document(&corpus.documents, &set.documents).is_none());
    }
}

/// Retrains the default model from `training-data/` exactly as
/// `scripts/train-default-model.sh` does and compares the bytes with the
/// committed file. About 1.2-1.7 s in a debug build (2 CPUs), so it runs with
/// every `cargo test`; `--nocapture` shows the time.
#[test]
fn committed_model_is_exactly_what_retraining_produces() {
    let started = Instant::now();
    let corpus = read_training_corpus();
    let options = default_model_options();
    let (mut retrained, _summary) =
        train::train(&corpus.documents, &options, &Silent).expect("training succeeds");
    for (name, path) in evaluation_sets() {
        let set = Corpus::read_all(&[path], &ReadOptions::default()).expect("test split reads");
        let evaluation =
            train::evaluate_named(&retrained, name, &set.documents).expect("test split scores");
        retrained.add_evaluation(evaluation);
    }
    let retrained_bytes = retrained.to_bytes().expect("model encodes");
    eprintln!(
        "retrained the default model in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    let committed_bytes = std::fs::read(default_model_path()).expect("models/default.model reads");
    if retrained_bytes != committed_bytes {
        let committed = model();
        panic!(
            "models/default.model is not what retraining produces: committed {} bytes, version {}, \
             sha256 {}; retrained {} bytes, version {}, sha256 {}",
            committed_bytes.len(),
            committed.version(),
            sha256_hex(&committed_bytes),
            retrained_bytes.len(),
            retrained.version(),
            sha256_hex(&retrained_bytes)
        );
    }
}

// ---------------------------------------------------------------------------
// Probabilities a person can read: per-topic calibrated chances.
// ---------------------------------------------------------------------------

/// Clear one-topic reports written for this test: each must give its topic
/// a probability of at least 0.7 (the chance the topic applies, not a share
/// of 1 spread over ten topics).
const CLEAR_ONE_TOPIC: [(&str, &str); 4] = [
    (
        "military_operations",
        "Government troops backed by fighter jets and artillery launched a major offensive at \
dawn on Monday against rebel positions in the eastern hills, the army said. Airstrikes hit \
command posts and supply depots while armoured brigades pushed towards the rebel-held town, \
and infantry units fought heavy battles for control of the main ridge throughout the day.",
    ),
    (
        "terrorist_attacks",
        "A suicide bomber blew himself up in a crowded market on Friday, killing at least thirty \
people and wounding more than fifty, police said. A second explosive device went off near the \
mosque as rescuers arrived. The Islamic State group claimed responsibility for the bombing, the \
deadliest attack on civilians in the province this year.",
    ),
    (
        "humanitarian_aid",
        "Aid agencies delivered food rations, clean water and medical supplies to tens of \
thousands of displaced families in the camps on Wednesday, the World Food Programme said. \
Humanitarian convoys carrying tents, blankets and emergency kits reached the flooded region, \
and the United Nations appealed to donors for more funding to feed the refugees.",
    ),
    (
        "diplomacy",
        "Les ministres des Affaires étrangères des deux pays se sont réunis mardi à Genève pour \
relancer les négociations diplomatiques. Les deux délégations ont signé une déclaration commune \
sur le rétablissement des relations diplomatiques et la réouverture des ambassades, et ont \
annoncé une visite d'État du président au printemps prochain pour conclure un accord bilatéral.",
    ),
];

#[test]
fn clear_one_topic_reports_score_at_least_0_7_for_their_topic() {
    let model = model();
    for (topic, text) in CLEAR_ONE_TOPIC {
        let index = model
            .topic_index(topic)
            .unwrap_or_else(|| panic!("the default model has no topic {topic:?}"));
        let c = model.classify(text, None);
        assert!(
            c.probabilities[index] >= 0.7,
            "{topic}: probability {:.3}\n{}",
            c.probabilities[index],
            describe(model, &c)
        );
        assert_eq!(decided_ids(model, &c), [topic], "{}", describe(model, &c));
    }
}
