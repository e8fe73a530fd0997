//! Presets per output device: when the engine's output changes (the user
//! moved it, a device was plugged or unplugged, a lost device fell back), the
//! preset bound to the new device ([`gecko_services::PresetStore::bound`]) is
//! applied through the same settings path as a client's `set_preset`, so the
//! engine takes it on its next control tick (≤ 100 ms) with the chain's
//! normal smoothing. A device without a binding gets the engine's own preset
//! back (the one it was started with, or bypass) — but only if a bound preset
//! was in force: an engine that never meets a bound device keeps whatever its
//! clients set.

use gecko_control::Edit;
use gecko_services::PresetStore;

/// Follows the engine's output device and says which preset to apply.
#[derive(Debug)]
pub struct DeviceBindings {
    store: PresetStore,
    own: Option<String>,
    current: Option<String>,
    bound_in_force: Option<String>,
}

/// What to apply and why (for the log).
#[derive(Debug, Clone, PartialEq)]
pub struct BindingChange {
    /// The edit to apply ([`Edit::Preset`] or [`Edit::Bypass`]).
    pub edit: Edit,
    /// For people: "studio → preset Cans" and the like.
    pub message: String,
}

impl DeviceBindings {
    /// Bindings from `store`; `own` is the engine's own preset spec
    /// (`--preset`), applied to devices without a binding after a bound one.
    pub fn new(store: PresetStore, own: Option<String>) -> DeviceBindings {
        DeviceBindings { store, own, current: None, bound_in_force: None }
    }

    /// The engine plays on the device with stable id `id` and name `name`
    /// (`None`: on nothing). On a change, what to apply; `Err` with a
    /// message when the binding cannot be read or its preset not loaded
    /// (the engine then keeps its settings).
    pub fn on_output(&mut self, id: Option<&str>, name: Option<&str>) -> Option<Result<BindingChange, String>> {
        let key = id.or(name)?;
        if self.current.as_deref() == Some(key) {
            return None;
        }
        self.current = Some(key.to_owned());
        let shown = name.unwrap_or(key);
        let rate = gecko_control::state::VALIDATION_RATE;
        match self.store.bound(key, name.unwrap_or(key)) {
            Err(e) => Some(Err(e.to_string())),
            Ok(Some(preset)) => {
                self.bound_in_force = Some(preset.clone());
                Some(
                    self.store
                        .engine_spec(&preset, rate)
                        .map(|spec| BindingChange {
                            edit: Edit::Preset(spec),
                            message: format!("{shown} → its preset {preset:?}"),
                        })
                        .map_err(|e| format!("{shown} is bound to {preset:?}, which cannot be used: {e}")),
                )
            }
            Ok(None) => {
                self.bound_in_force.take()?;
                Some(match &self.own {
                    Some(own) => self
                        .store
                        .engine_spec(own, rate)
                        .map(|spec| BindingChange {
                            edit: Edit::Preset(spec),
                            message: format!("{shown} has no preset of its own → the engine's {own:?}"),
                        })
                        .map_err(|e| e.to_string()),
                    None => Ok(BindingChange {
                        edit: Edit::Bypass,
                        message: format!("{shown} has no preset of its own → bypass"),
                    }),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preset_of(c: &Option<Result<BindingChange, String>>) -> Option<String> {
        match c {
            Some(Ok(BindingChange { edit: Edit::Preset(spec), .. })) => Some(spec.clone()),
            Some(Ok(BindingChange { edit: Edit::Bypass, .. })) => Some("bypass".into()),
            _ => None,
        }
    }

    #[test]
    fn bound_devices_get_their_preset_and_the_rest_the_engines_own() {
        let dir = tempfile::tempdir().unwrap();
        let store = PresetStore::new(dir.path());
        store.bind("hp-uid", "speech").unwrap();
        store.bind("Speakers", "night").unwrap();
        let mut b = DeviceBindings::new(store, Some("loudness".into()));
        // an unbound device first: the engine keeps what it has
        assert_eq!(b.on_output(Some("hdmi-uid"), Some("HDMI")), None);
        assert_eq!(preset_of(&b.on_output(Some("hp-uid"), Some("Headphones"))), Some("speech".into()));
        assert_eq!(b.on_output(Some("hp-uid"), Some("Headphones")), None, "only on a change");
        // by name when the id is not bound
        assert_eq!(preset_of(&b.on_output(Some("spk-uid"), Some("Speakers"))), Some("night".into()));
        // back to an unbound device: the engine's own preset
        let c = b.on_output(Some("hdmi-uid"), Some("HDMI"));
        assert_eq!(preset_of(&c), Some("loudness".into()));
        assert!(c.unwrap().unwrap().message.contains("no preset of its own"));
        assert_eq!(b.on_output(None, None), None);
    }

    #[test]
    fn without_an_own_preset_an_unbound_device_gets_bypass() {
        let dir = tempfile::tempdir().unwrap();
        let store = PresetStore::new(dir.path());
        store.bind("studio", "speech").unwrap();
        let mut b = DeviceBindings::new(store.clone(), None);
        assert_eq!(preset_of(&b.on_output(Some("studio"), Some("studio"))), Some("speech".into()));
        assert_eq!(preset_of(&b.on_output(Some("default"), Some("default"))), Some("bypass".into()));
        // a binding whose preset file broke since: an error, the engine keeps its settings
        store.save("mine", &gecko_dsp::Preset::default()).unwrap();
        store.bind("usb", "mine").unwrap();
        std::fs::write(store.path_for("mine").unwrap(), "gain_db = 99\n").unwrap();
        let e = b.on_output(Some("usb"), Some("usb")).unwrap().unwrap_err();
        assert!(e.contains("usb") && e.contains("mine") && e.contains("gain_db"), "{e}");
    }
}
