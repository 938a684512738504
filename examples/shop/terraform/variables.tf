variable "db_clients" {
  description = "Networks allowed to reach Postgres, by name"
  type        = map(string)
  default = {
    app    = "10.0.2.0/24"
    legacy = "10.9.0.0/16"
  }
}

variable "admin_cidr" {
  description = "Administrators' network"
  type        = string
  default     = "10.0.0.0/16"
}
