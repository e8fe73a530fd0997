//! Following the output device as the system's devices come and go.
//!
//! The policy is portable and has no I/O: [`Follower`] is told what the
//! user wants ([`Wanted`]), what the engine plays on, and each new
//! [`DeviceSnapshot`] (the output devices and the system default, taken by
//! [`crate::output::snapshot`] whenever the [`crate::watch::DeviceWatch`]
//! says the system's devices may have changed), and answers with a
//! [`Decision`]. The engine acts on it; the CoreAudio (or ALSA) calls stay in
//! `watch` and `output`.
//!
//! The rules, as a person with headphones and a USB interface expects them:
//! - **The device playing disappears** (unplugged, Bluetooth out of range,
//!   its driver gone): move to the system default, or, when the default is
//!   Gecko Sink itself or missing, to the first other output there is.
//! - **A device the user chose by name or UID comes back** after such a
//!   loss: move back to it (plugging the headphones in again gives them
//!   their sound back).
//! - **The user follows the system default** (no device chosen) and the
//!   default changes to another real device: move to it. A change of the
//!   default *to Gecko Sink* is the user routing the system's sound through
//!   Gecko: the engine stays where it plays (playing into Gecko Sink would
//!   feed the engine's own output back into its input).
//!
//! Gecko Sink is recognised by its UID ([`gecko_identity::is_gecko_sink`]).

/// One output device as the host lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEntry {
    /// The host's stable id: the device UID on macOS
    /// (`kAudioDevicePropertyDeviceUID`), the PCM id on Linux (ALSA).
    pub id: String,
    /// The name the system shows (on Linux, the PCM id again).
    pub name: String,
}

impl DeviceEntry {
    /// Whether `want` (a name or an id, as `--device` takes) names this device.
    pub fn matches(&self, want: &str) -> bool {
        self.id == want || self.name == want
    }

    /// Whether this is Gecko Sink itself (by UID).
    pub fn is_gecko_sink(&self) -> bool {
        gecko_identity::is_gecko_sink(&self.id)
    }
}

/// The system's output devices at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceSnapshot {
    /// Every output device, Gecko Sink included when it is there.
    pub devices: Vec<DeviceEntry>,
    /// The id of the system's default output device, if there is one.
    pub default: Option<String>,
}

impl DeviceSnapshot {
    /// The device `want` names (by id first, then by name).
    pub fn find(&self, want: &str) -> Option<&DeviceEntry> {
        self.devices.iter().find(|d| d.id == want).or_else(|| self.devices.iter().find(|d| d.name == want))
    }

    /// Where to go when the device playing is gone, best first: the system
    /// default unless it is Gecko Sink (or absent), then every other device
    /// that is not Gecko Sink, in the host's order. The engine tries them in
    /// turn until one starts.
    pub fn fallbacks(&self) -> Vec<&DeviceEntry> {
        let default = self.default.as_deref().and_then(|id| self.devices.iter().find(|d| d.id == id));
        let first = default.filter(|d| !d.is_gecko_sink());
        first
            .into_iter()
            .chain(
                self.devices
                    .iter()
                    .filter(|d| !d.is_gecko_sink() && Some(d.id.as_str()) != first.map(|f| f.id.as_str())),
            )
            .collect()
    }

    /// The first of [`DeviceSnapshot::fallbacks`].
    pub fn fallback(&self) -> Option<&DeviceEntry> {
        self.fallbacks().into_iter().next()
    }
}

/// What the user asked the engine to play on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// Whatever the system's default output is (never Gecko Sink).
    SystemDefault,
    /// This device, by name or id; when it is unplugged the engine plays on
    /// the fallback and comes back when it returns.
    Device(String),
}

/// Why the engine should move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveReason {
    /// The device playing is no longer listed (or its stream said so).
    Lost,
    /// The device the user chose is listed again.
    Returned,
    /// The system default changed to another real device.
    DefaultChanged,
}

/// What the engine should do after a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Keep playing where it plays.
    Stay,
    /// Start playing on the device with this id.
    MoveTo {
        /// The device's id ([`DeviceEntry::id`]).
        id: String,
        /// Why.
        reason: MoveReason,
    },
    /// The device playing is gone and there is no other output at all.
    NoDevice,
}

/// The policy's state: what the user wants, what plays, the default last seen.
#[derive(Debug, Clone)]
pub struct Follower {
    wanted: Wanted,
    playing: String,
    last_default: Option<String>,
}

impl Follower {
    /// The engine plays on the device with id `playing`, chosen for `wanted`,
    /// and the system default is as in `snapshot`.
    pub fn new(wanted: Wanted, playing: &str, snapshot: &DeviceSnapshot) -> Follower {
        Follower { wanted, playing: playing.to_owned(), last_default: snapshot.default.clone() }
    }

    /// What the user wants now.
    pub fn wanted(&self) -> &Wanted {
        &self.wanted
    }

    /// The id of the device the engine plays on.
    pub fn playing(&self) -> &str {
        &self.playing
    }

    /// The engine now plays on `id` (after a move it made).
    pub fn played(&mut self, id: &str) {
        id.clone_into(&mut self.playing);
    }

    /// The user asked for another target (a control request that succeeded):
    /// it is now what the engine plays on and what it returns to.
    pub fn chose(&mut self, wanted: Wanted, playing: &str) {
        self.wanted = wanted;
        self.played(playing);
    }

    /// The stream on the device playing failed for good (cpal's
    /// `DeviceNotAvailable`): where to go, given `snapshot`. The fallback may
    /// be the same device when it is still listed and still the default (a
    /// stream that died while its device stayed: a new stream is the fix).
    pub fn on_stream_lost(&mut self, snapshot: &DeviceSnapshot) -> Decision {
        self.last_default.clone_from(&snapshot.default);
        match snapshot.fallback() {
            Some(d) => Decision::MoveTo { id: d.id.clone(), reason: MoveReason::Lost },
            None => Decision::NoDevice,
        }
    }

    /// The system's devices may have changed: what to do, given `snapshot`.
    pub fn on_snapshot(&mut self, snapshot: &DeviceSnapshot) -> Decision {
        let default_changed = snapshot.default != self.last_default;
        self.last_default.clone_from(&snapshot.default);
        if !snapshot.devices.iter().any(|d| d.id == self.playing) {
            return match snapshot.fallback() {
                Some(d) => Decision::MoveTo { id: d.id.clone(), reason: MoveReason::Lost },
                None => Decision::NoDevice,
            };
        }
        match &self.wanted {
            Wanted::Device(want) => match snapshot.find(want) {
                Some(d) if d.id != self.playing && !d.is_gecko_sink() => {
                    Decision::MoveTo { id: d.id.clone(), reason: MoveReason::Returned }
                }
                _ => Decision::Stay,
            },
            Wanted::SystemDefault => {
                let new_default = snapshot.default.as_deref().and_then(|id| snapshot.find(id));
                match new_default {
                    Some(d) if default_changed && d.id != self.playing && !d.is_gecko_sink() => {
                        Decision::MoveTo { id: d.id.clone(), reason: MoveReason::DefaultChanged }
                    }
                    _ => Decision::Stay,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GECKO: &str = gecko_identity::DEVICE_UID;

    fn snap(ids: &[&str], default: Option<&str>) -> DeviceSnapshot {
        DeviceSnapshot {
            devices: ids
                .iter()
                .map(|id| DeviceEntry {
                    id: (*id).to_owned(),
                    name: if *id == GECKO { "Gecko Sink".into() } else { format!("{id} name") },
                })
                .collect(),
            default: default.map(str::to_owned),
        }
    }

    fn moved(id: &str, reason: MoveReason) -> Decision {
        Decision::MoveTo { id: id.into(), reason }
    }

    #[test]
    fn unplugging_the_device_playing_moves_to_the_default() {
        let s = snap(&["spk", "usb", GECKO], Some(GECKO));
        let mut f = Follower::new(Wanted::Device("usb".into()), "usb", &s);
        assert_eq!(f.on_snapshot(&s), Decision::Stay);
        // usb unplugged; the default is Gecko Sink, so the first real device
        assert_eq!(f.on_snapshot(&snap(&["spk", GECKO], Some(GECKO))), moved("spk", MoveReason::Lost));
        f.played("spk");
        assert_eq!(f.on_snapshot(&snap(&["spk", GECKO], Some(GECKO))), Decision::Stay);
        // a real default is preferred over the first device listed
        let mut g = Follower::new(Wanted::Device("usb".into()), "usb", &s);
        assert_eq!(g.on_snapshot(&snap(&["hdmi", "spk", GECKO], Some("spk"))), moved("spk", MoveReason::Lost));
    }

    #[test]
    fn the_chosen_device_is_taken_back_when_it_returns() {
        let s = snap(&["spk", "hp", GECKO], Some(GECKO));
        let mut f = Follower::new(Wanted::Device("hp name".into()), "hp", &s);
        assert_eq!(f.on_snapshot(&snap(&["spk", GECKO], Some(GECKO))), moved("spk", MoveReason::Lost));
        f.played("spk");
        assert_eq!(f.on_snapshot(&snap(&["spk", GECKO], Some(GECKO))), Decision::Stay);
        // plugged in again: chosen by name, found by name
        assert_eq!(f.on_snapshot(&s), moved("hp", MoveReason::Returned));
        f.played("hp");
        assert_eq!(f.on_snapshot(&s), Decision::Stay);
    }

    #[test]
    fn following_the_default_moves_with_it_but_never_into_gecko_sink() {
        let s = snap(&["spk", "hp", GECKO], Some("spk"));
        let mut f = Follower::new(Wanted::SystemDefault, "spk", &s);
        assert_eq!(f.on_snapshot(&s), Decision::Stay);
        // the user routes the system's sound through Gecko: stay on the speakers
        let to_gecko = snap(&["spk", "hp", GECKO], Some(GECKO));
        assert_eq!(f.on_snapshot(&to_gecko), Decision::Stay);
        assert_eq!(f.on_snapshot(&to_gecko), Decision::Stay);
        // headphones become the default (macOS does that on plug-in)
        let to_hp = snap(&["spk", "hp", GECKO], Some("hp"));
        assert_eq!(f.on_snapshot(&to_hp), moved("hp", MoveReason::DefaultChanged));
        f.played("hp");
        assert_eq!(f.on_snapshot(&to_hp), Decision::Stay);
    }

    #[test]
    fn a_default_change_is_acted_on_once() {
        // the move failed (the engine stayed on spk): no retry storm on every snapshot
        let s = snap(&["spk", "hp"], Some("spk"));
        let mut f = Follower::new(Wanted::SystemDefault, "spk", &s);
        let to_hp = snap(&["spk", "hp"], Some("hp"));
        assert_eq!(f.on_snapshot(&to_hp), moved("hp", MoveReason::DefaultChanged));
        assert_eq!(f.on_snapshot(&to_hp), Decision::Stay);
    }

    #[test]
    fn a_chosen_device_ignores_default_changes() {
        let s = snap(&["spk", "hp"], Some("spk"));
        let mut f = Follower::new(Wanted::Device("spk".into()), "spk", &s);
        assert_eq!(f.on_snapshot(&snap(&["spk", "hp"], Some("hp"))), Decision::Stay);
    }

    #[test]
    fn nothing_left_but_gecko_sink_is_no_device() {
        let s = snap(&["usb", GECKO], Some("usb"));
        let mut f = Follower::new(Wanted::SystemDefault, "usb", &s);
        assert_eq!(f.on_snapshot(&snap(&[GECKO], Some(GECKO))), Decision::NoDevice);
        assert_eq!(f.on_snapshot(&snap(&[], None)), Decision::NoDevice);
    }

    #[test]
    fn a_failed_stream_goes_to_the_default_and_then_down_the_list() {
        // the stream died but the device is still listed (and still the default): restart it
        let s = snap(&["usb", "spk", GECKO], Some("usb"));
        let mut f = Follower::new(Wanted::SystemDefault, "usb", &s);
        assert_eq!(f.on_stream_lost(&s), moved("usb", MoveReason::Lost));
        // the order the engine tries them in
        let ids = |s: &DeviceSnapshot| s.fallbacks().iter().map(|d| d.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&snap(&["a", GECKO, "b", "c"], Some("b"))), ["b", "a", "c"]);
        assert_eq!(ids(&snap(&["a", GECKO, "b"], Some(GECKO))), ["a", "b"]);
        assert_eq!(ids(&snap(&["a", "b"], Some("gone"))), ["a", "b"]);
        assert_eq!(f.on_stream_lost(&snap(&[GECKO], Some(GECKO))), Decision::NoDevice);
    }

    #[test]
    fn a_user_choice_replaces_the_target() {
        let s = snap(&["spk", "hp"], Some("spk"));
        let mut f = Follower::new(Wanted::Device("hp".into()), "hp", &s);
        f.chose(Wanted::SystemDefault, "spk");
        assert_eq!(f.wanted(), &Wanted::SystemDefault);
        assert_eq!(f.playing(), "spk");
        // hp is listed but no longer wanted
        assert_eq!(f.on_snapshot(&s), Decision::Stay);
    }
}
