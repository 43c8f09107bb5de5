//! The `settings!` macro: each setting is declared once, in the table of `setting.rs`, and its
//! environment variable, flag, TOML key, help text and place in the file's schema follow.

/// Declares every setting, table by table, as
///
/// ```text
/// /// `[table]`.
/// table: TableStruct {
///     /// Help text (also the flag's).
///     Variant key: FileType = "ENV_NAME", flag "VALUE-NAME" [in "subcommand"];
///     + /// A key of the table that is not a setting.
///     extra_key: Type;
/// }
/// + /// A top-level key that is not a setting.
/// extra_table: Type;
/// ```
///
/// and generates the `Setting` enum (with `ALL`, `env`, `toml_key` = `table.key`,
/// `value_name`, `subcommand`, `help`) and the serde schema of the file (`FileConfig` and one
/// struct per table, unknown keys refused). A setting written without `flag` has none: a
/// secret, whose value would show in `ps`.
macro_rules! settings {
    (@opt) => { None };
    (@opt $value:expr) => { Some($value) };
    (
        $(
            $(#[doc = $table_doc:expr])*
            $table:ident : $Table:ident {
                $(
                    $(#[doc = $doc:expr])*
                    $Variant:ident $key:ident : $ty:ty = $env:literal
                        $(, flag $value_name:literal $(in $subcommand:literal)?)? ;
                )*
                $( + $(#[doc = $extra_doc:expr])* $extra:ident : $extra_ty:ty ; )*
            }
        )*
        $( + $(#[doc = $top_doc:expr])* $top:ident : $top_ty:ty ; )*
    ) => {
        /// One configurable setting, named the three ways a user can give it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub(crate) enum Setting {
            $($( $(#[doc = $doc])* $Variant, )*)*
        }

        impl Setting {
            /// Every setting, in the order of the declaration.
            pub(crate) const ALL: &[Setting] = &[$($(Setting::$Variant,)*)*];

            /// The environment variable.
            pub(crate) fn env(self) -> &'static str {
                match self {
                    $($( Setting::$Variant => $env, )*)*
                }
            }

            /// The key in the TOML file, as `table.key`.
            pub(crate) fn toml_key(self) -> &'static str {
                match self {
                    $($( Setting::$Variant => concat!(stringify!($table), ".", stringify!($key)), )*)*
                }
            }

            /// The placeholder of the flag's value in `--help`; `None` for a setting without
            /// a flag.
            pub(crate) fn value_name(self) -> Option<&'static str> {
                match self {
                    $($( Setting::$Variant => settings!(@opt $($value_name)?), )*)*
                }
            }

            /// The subcommand whose flag it is; `None` for a flag of every command.
            pub(crate) fn subcommand(self) -> Option<&'static str> {
                match self {
                    $($( Setting::$Variant => settings!(@opt $($($subcommand)?)?), )*)*
                }
            }

            /// The help text of its flag.
            pub(crate) fn help(self) -> &'static str {
                match self {
                    $($( Setting::$Variant => concat!($($doc),*).trim_start(), )*)*
                }
            }
        }

        /// The whole file. Every table and key is optional; unknown keys are refused.
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct FileConfig {
            $( $(#[doc = $table_doc])* #[serde(default)] pub(crate) $table: $Table, )*
            $( $(#[doc = $top_doc])* #[serde(default)] pub(crate) $top: $top_ty, )*
        }

        $(
            $(#[doc = $table_doc])*
            #[derive(Debug, Default, serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            pub(crate) struct $Table {
                $( $(#[doc = $doc])* pub(crate) $key: Option<$ty>, )*
                $( $(#[doc = $extra_doc])* #[serde(default)] pub(crate) $extra: $extra_ty, )*
            }
        )*
    };
}

pub(crate) use settings;
