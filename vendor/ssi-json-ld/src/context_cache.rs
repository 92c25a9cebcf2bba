//! Sigillo's patch to `ssi-json-ld`: a cache of processed top-level contexts.
//!
//! `CompactJsonLd::expand_with` used to run the JSON-LD Context Processing algorithm on a
//! document's top-level `@context` for every document it expanded: for a VC 2.0 credential that
//! is about two thirds of the time of an `eddsa-rdfc-2022` signature or verification (the
//! algorithm defines every term of the VC 2.0 context anew). jsonld.js keeps processed contexts
//! in a shared cache for the same reason; this does the same.
//!
//! The cache is off until [`enable`] is called: turning it on declares that a loader of a given
//! type always loads the same document for the same URL (true of a `ContextLoader` built once
//! from pinned contexts, as Sigillo's is). Keys are the loader's type and the `@context` value;
//! entries are the processed active context, which the expansion algorithm would have computed
//! from the empty initial context. Expanding the rest of the document from it gives the same
//! expanded document (tested in Sigillo's `wallet` crate against the uncached path).

use std::{
    any::TypeId,
    collections::HashMap,
    hash::Hash,
    mem::ManuallyDrop,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, OnceLock,
    },
};

use iref::IriBuf;
use json_ld::{
    syntax::{Print, TryFromJson},
    BlankIdBuf, Context, Expand, ExpandedDocument, Loader, Process,
};
use ssi_rdf::VocabularyMut;

/// How many distinct contexts the cache holds; past that it is cleared (a service signs and
/// verifies with a handful of contexts, so this only bounds memory against hostile input).
const ENTRIES_MAX: usize = 256;

static ENABLED: AtomicBool = AtomicBool::new(false);

type Key = (TypeId, String);
type Cached = Arc<Context<IriBuf, BlankIdBuf>>;

fn cache() -> &'static Mutex<HashMap<Key, Cached>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Cached>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Turns the cache on for the whole process. Call it only if every loader type you use loads
/// the same document for the same URL for the life of the process.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Turns the cache off and empties it.
pub fn disable() {
    ENABLED.store(false, Ordering::Relaxed);
    cache().lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// How many processed contexts the cache holds.
pub fn len() -> usize {
    cache().lock().unwrap_or_else(|e| e.into_inner()).len()
}

/// Expands `document` from the cached processing of its top-level `@context`. `None` when the
/// cache does not apply (off, no or duplicate `@context`, identifiers other than `IriBuf` and
/// `BlankIdBuf`, or a context that fails to process, whose error the uncached path reports).
pub(crate) async fn expand<V, L>(
    document: &json_syntax::Value,
    vocabulary: &mut V,
    loader: &L,
    options: json_ld::expansion::Options,
) -> Option<Result<ExpandedDocument<V::Iri, V::BlankId>, json_ld::expansion::Error>>
where
    V: VocabularyMut,
    V::Iri: Clone + Eq + Hash,
    V::BlankId: Clone + Eq + Hash,
    L: Loader,
{
    if !ENABLED.load(Ordering::Relaxed)
        || typeid::of::<Context<V::Iri, V::BlankId>>() != TypeId::of::<Context<IriBuf, BlankIdBuf>>()
    {
        return None;
    }
    let object = document.as_object()?;
    let local = object.get_unique("@context").ok()??;
    let key = (typeid::of::<L>(), local.compact_print().to_string());
    let cached = cache()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .cloned();
    let processed = match cached {
        Some(processed) => processed,
        None => {
            let context = json_ld::syntax::context::Context::try_from_json(local.clone()).ok()?;
            let processed = context
                .process_with(
                    &mut (),
                    &Context::default(),
                    loader,
                    None,
                    options.into(),
                )
                .await
                .ok()?
                .into_processed();
            let processed = Arc::new(processed);
            let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() >= ENTRIES_MAX {
                cache.clear();
            }
            cache.insert(key, processed.clone());
            processed
        }
    };
    // SAFETY: the two types were checked equal above (`typeid` compares types up to lifetimes,
    // and neither `IriBuf` nor `BlankIdBuf` has any).
    let active: Context<V::Iri, V::BlankId> = unsafe { cast((*processed).clone()) };
    let mut rest = object.clone();
    rest.remove("@context");
    Some(
        json_syntax::Value::Object(rest)
            .expand_full(vocabulary, active, None, loader, options, ())
            .await,
    )
}

/// # Safety
/// `A` and `B` must be the same type.
unsafe fn cast<A, B>(a: A) -> B {
    assert_eq!(std::mem::size_of::<A>(), std::mem::size_of::<B>());
    let a = ManuallyDrop::new(a);
    std::ptr::read(&*a as *const A as *const B)
}
