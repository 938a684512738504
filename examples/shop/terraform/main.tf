# The shop's security groups (written for tighten's tests and demo).

resource "aws_security_group" "web" {
  name        = "shop-web"
  description = "Public web tier"
  vpc_id      = "vpc-0shop"

  ingress {
    description = "HTTPS from anywhere"
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["0.0.0.0/0"]
  }

  ingress {
    description = "ssh for the on-call engineers"
    protocol    = "tcp"
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["0.0.0.0/0"]
  }

  # Legacy FTP drop box, retired in 2025.
  ingress {
    description = "ftp"
    protocol    = "tcp"
    from_port   = 21
    to_port     = 21
    cidr_blocks = ["10.0.0.0/8"]
  }

  ingress {
    description = "internal services"
    protocol    = "tcp"
    from_port   = 8000
    to_port     = 8999
    cidr_blocks = ["10.0.0.0/16"]
  }

  ingress {
    description = "metrics (new)"
    protocol    = "tcp"
    from_port   = 9443
    to_port     = 9443
    cidr_blocks = ["10.0.0.0/8"]
  }

  egress {
    description = "anywhere"
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "app" {
  name        = "shop-app"
  description = "Application servers"
  vpc_id      = "vpc-0shop"
}

resource "aws_security_group_rule" "app_from_web" {
  type                     = "ingress"
  description              = "API from the web tier"
  security_group_id        = aws_security_group.app.id
  protocol                 = "tcp"
  from_port                = 9000
  to_port                  = 9000
  source_security_group_id = aws_security_group.web.id
}

resource "aws_security_group_rule" "app_ephemeral" {
  type              = "ingress"
  description       = "return traffic (not needed: security groups are stateful)"
  security_group_id = aws_security_group.app.id
  protocol          = "tcp"
  from_port         = 32768
  to_port           = 65535
  cidr_blocks       = ["0.0.0.0/0"]
}

resource "aws_security_group" "db" {
  name        = "shop-db"
  description = "Postgres"
  vpc_id      = "vpc-0shop"
}

resource "aws_vpc_security_group_ingress_rule" "db_pg" {
  for_each          = var.db_clients
  security_group_id = aws_security_group.db.id
  description       = "Postgres from ${each.key}"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "db_admin" {
  security_group_id = aws_security_group.db.id
  description       = "ssh for administrators"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = var.admin_cidr
}

resource "aws_security_group" "batch" {
  name        = "shop-batch"
  description = "Nightly batch workers"
  vpc_id      = "vpc-0shop"

  ingress {
    description = "job submission"
    protocol    = "tcp"
    from_port   = 8443
    to_port     = 8443
    cidr_blocks = ["10.0.0.0/16"]
  }
}

resource "aws_security_group" "cache" {
  name        = "shop-cache"
  description = "Redis"
  vpc_id      = "vpc-0shop"

  ingress {
    description = "Redis from the app subnet"
    protocol    = "tcp"
    from_port   = 6379
    to_port     = 6379
    cidr_blocks = ["10.0.2.0/24"]
  }
}
