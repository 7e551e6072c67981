import NIOCore

extension IOContext {
    /// This client's instance id: the global id the monitor gave the session
    /// (`librados::Rados::get_instance_id`). librbd builds new image ids from it.
    package var instanceID: UInt64 { objecter.monitor.authOutcome.globalID }
}
