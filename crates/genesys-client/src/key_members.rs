//! `KeyMembers`: where a fetch wrote each entity and the values of its key fields in the entries
//! JSON, so that a lookup index can read those values alone instead of parsing every entity again.

use std::ops::Range;

use crate::KeyField;

/// One member of an entity whose field holds lookup keys: which field, and where its value's
/// canonical JSON is in the entries JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyMember {
    at: u32,
    len: u32,
    field: KeyField,
}

impl KeyMember {
    /// The field the value is of.
    pub fn field(&self) -> KeyField {
        self.field
    }

    /// Where the value's JSON is in the entries JSON, in bytes.
    pub fn value(&self) -> Range<usize> {
        self.at as usize..(self.at + self.len) as usize
    }
}

/// Where one entity is in the entries JSON, and where its members end in
/// [`KeyMembers::members`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EntitySpan {
    at: u32,
    len: u32,
    members_end: u32,
}

/// For each entity of a snapshot, in order: where it is in the snapshot's entries JSON, and its
/// top-level members whose fields hold lookup keys ([`KeyField`]), in the order they are
/// written there (a field given twice upstream is its last value, the one kept).
///
/// The transcoder of a fetch finds them as it writes the entries, so that the lookup index of
/// a fill reads these few values rather than parsing every entity a second time. Offsets are
/// `u32` and an entity costs 12 bytes beside 12 for each of its key members.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyMembers {
    entities: Vec<EntitySpan>,
    members: Vec<KeyMember>,
}

impl KeyMembers {
    /// How many entities.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether there are no entities.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Each entity, in order: where its JSON is in the entries JSON, and its key members.
    pub fn entities(&self) -> impl ExactSizeIterator<Item = (Range<usize>, &[KeyMember])> + '_ {
        let mut first = 0;
        self.entities.iter().map(move |entity| {
            let members = &self.members[first..entity.members_end as usize];
            first = entity.members_end as usize;
            let at = entity.at as usize;
            (at..at + entity.len as usize, members)
        })
    }

    /// The memory it holds, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.entities.capacity() * size_of::<EntitySpan>()
            + self.members.capacity() * size_of::<KeyMember>()
    }

    /// Adds an entity at `span` whose key members' values are at `members`, both from `base`;
    /// `None` when an offset does not fit in 32 bits.
    pub(crate) fn push(
        &mut self,
        base: usize,
        span: Range<usize>,
        members: impl IntoIterator<Item = (KeyField, Range<usize>)>,
    ) -> Option<()> {
        let offset = |at: usize| u32::try_from(base.checked_add(at)?).ok();
        for (field, value) in members {
            self.members.push(KeyMember {
                at: offset(value.start)?,
                len: u32::try_from(value.len()).ok()?,
                field,
            });
        }
        self.entities.push(EntitySpan {
            at: offset(span.start)?,
            len: u32::try_from(span.len()).ok()?,
            members_end: u32::try_from(self.members.len()).ok()?,
        });
        Some(())
    }

    /// Appends `other`'s entities, whose offsets are from `base`; `None` when an offset does not
    /// fit in 32 bits.
    pub(crate) fn append(&mut self, base: usize, other: &KeyMembers) -> Option<()> {
        self.entities.reserve(other.entities.len());
        self.members.reserve(other.members.len());
        for (span, members) in other.entities() {
            self.push(
                base,
                span,
                members.iter().map(|member| (member.field, member.value())),
            )?;
        }
        Some(())
    }
}
